import type { AlertNotification } from './alert-sink.ts';
import type { TimingProfile, TimingProfileName } from './profiles.ts';

/**
 * The Stack contract. A runtime (native processes today; containers later) turns StackOptions into
 * a StartedStack: every component up and ready, endpoints known, a handle per component for fault
 * injection, and disposal that tears everything down (`await using stack = await runtime.start()`).
 */

export interface StackOptions {
  /** Timing profile for scrape/evaluation intervals and alert routing; default `fast`. */
  profile?: TimingProfileName;
  /** Keep the stack's data and log directory after teardown (its path is printed). */
  keep?: boolean;
  /** Extra Prometheus rule files (absolute paths) to load, e.g. generated alert rules. */
  ruleFiles?: readonly string[];
  /** Extra command-line arguments per component, appended to the runtime's own. */
  extraArgs?: Readonly<Record<string, readonly string[]>>;
  /** Per-component readiness deadline in ms (default 30 s). */
  readyTimeoutMs?: number;
  /** Aborting it (SIGINT/SIGTERM) stops start-up and tears down whatever was started. */
  signal?: AbortSignal;
  /** Progress lines for people. */
  log?: (line: string) => void;
}

export type ComponentState = 'starting' | 'running' | 'frozen' | 'exited' | 'stopped';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly at: number;
}

/** A handle on one running component, for inspection and fault injection. */
export interface ComponentHandle {
  readonly name: string;
  readonly state: ComponentState;
  /** Process id of the component's main process (its process-group leader); undefined when not running. */
  readonly pid: number | undefined;
  /** Named ports this component listens on (all on 127.0.0.1). */
  readonly ports: Readonly<Record<string, number>>;
  /** How the last process ended, when it has ended. */
  readonly lastExit: ExitInfo | undefined;
  /** Resolves when the current process exits (for any reason). */
  exited(): Promise<ExitInfo>;
  /** Graceful stop: its stop signal, then SIGKILL to the whole process group after a deadline. */
  stop(): Promise<void>;
  /** Abrupt death (SIGKILL by default) of the whole process group, as a crash would. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP to the process group: the component hangs with its sockets open. */
  freeze(): Promise<void>;
  /** SIGCONT: undoes freeze(). */
  thaw(): Promise<void>;
  /** Stops (if running) and starts again on the same ports and data, waiting until ready. */
  restart(): Promise<void>;
  /** The last `lines` lines of the component's log. */
  logs(lines?: number): Promise<string>;
}

export interface StackEndpoints {
  /** Redis as clients must use it: through the Toxiproxy `redis` proxy. */
  readonly redis: { readonly url: string; readonly port: number; readonly directPort: number };
  /** PostgreSQL as clients must use it: through the Toxiproxy `postgres` proxy. */
  readonly postgres: {
    readonly url: string;
    readonly port: number;
    readonly directPort: number;
    readonly database: string;
    readonly user: string;
    readonly password: string;
  };
  readonly toxiproxy: { readonly url: string };
  readonly prometheus: { readonly url: string };
  readonly alertmanager: { readonly url: string };
  readonly redisExporter: { readonly url: string };
  readonly postgresExporter: { readonly url: string };
  readonly alertSink: { readonly url: string };
}

export interface AlertSinkView {
  /** Every notification received so far, oldest first. */
  notifications(): readonly AlertNotification[];
  /** Resolves with the first notification (already received or arriving later) that matches, or rejects at the deadline. */
  waitFor(
    predicate: (n: AlertNotification) => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<AlertNotification>;
  /**
   * Sets the synthetic probe gauge the sink exposes to Prometheus; the harness rule
   * ChatimSloAlertProbe fires while it is 1, so the alert path can be timed (and its resolution
   * seen) on a warm stack without touching any real component.
   */
  setProbe(name: string, value: 0 | 1): void;
}

export interface StartedStack extends AsyncDisposable {
  readonly id: string;
  readonly runtime: 'native' | 'containers';
  /** Directory with the stack's data, configs and logs (removed at teardown unless `keep`). */
  readonly dir: string;
  readonly profile: TimingProfile;
  readonly endpoints: StackEndpoints;
  readonly components: ReadonlyMap<string, ComponentHandle>;
  readonly alertSink: AlertSinkView;
  /** Every job Prometheus scrapes in this stack (each must report up == 1 when healthy). */
  readonly scrapeJobs: readonly string[];
  /** Wall time from start() to every component ready, in ms. */
  readonly startupMs: number;
  component(name: string): ComponentHandle;
  /** Tears everything down; safe to call more than once. */
  stop(): Promise<void>;
}

export interface StackRuntime {
  readonly name: 'native' | 'containers';
  start(options?: StackOptions): Promise<StartedStack>;
}
