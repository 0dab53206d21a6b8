import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ScrapeTarget } from '../../../monitoring/prometheus/config.ts';
import { HarnessError, InterruptedError, throwIfAborted } from '../../errors.ts';
import { ExitCode } from '../../exit-codes.ts';
import { checkTools } from '../../tools/check.ts';
import { toolByName } from '../../tools/manifest.ts';
import { ALERT_SINK_JOB, AlertSink } from '../alert-sink.ts';
import { allocatePorts } from '../ports.ts';
import { SupervisedProcess } from '../process.ts';
import { TIMING_PROFILES, type TimingProfile } from '../profiles.ts';
import { reapStaleStacks, StackRegistry } from '../registry.ts';
import type {
  AlertSinkView,
  ComponentHandle,
  ComponentState,
  ExitInfo,
  StackEndpoints,
  StackOptions,
  StackRuntime,
  StartedStack,
} from '../types.ts';
import { waitUntil } from '../wait.ts';
import type { ComponentContext, NativeComponent, StackSecrets } from './component.ts';
import { CORE, coreComponents, PROXIES } from './core-components.ts';

const DEFAULT_READY_TIMEOUT_MS = 30_000;
const LOG_TAIL_LINES = 25;

/** A component that did not come up: names it, says why, and carries the last lines of its log. */
export class ComponentStartError extends HarnessError {
  readonly component: string;
  readonly logTail: string;

  constructor(component: string, reason: string, logFile: string, logTail: string) {
    super(
      `component "${component}" failed to start: ${reason}\n--- last lines of ${logFile} ---\n${logTail.trimEnd() || '(empty)'}`,
      {
        exitCode: ExitCode.Environment,
        hint: 'run `npx chatim-slo doctor` to check tools and the stack, or start with --keep to inspect the logs',
      },
    );
    this.name = 'ComponentStartError';
    this.component = component;
    this.logTail = logTail;
  }
}

async function tail(file: string, lines: number): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return '';
  }
}

/** Orders components into start levels: each level depends only on earlier ones. */
export function startLevels(components: readonly NativeComponent[]): NativeComponent[][] {
  const names = new Set(components.map((c) => c.name));
  const problems: string[] = [];
  for (const c of components) {
    for (const d of c.dependsOn) if (!names.has(d)) problems.push(`"${c.name}" depends on unknown "${d}"`);
  }
  if (names.size !== components.length) problems.push('component names are not unique');
  if (problems.length > 0) throw new Error(`invalid component list: ${problems.join('; ')}`);
  const levels: NativeComponent[][] = [];
  const placed = new Set<string>();
  let rest = [...components];
  while (rest.length > 0) {
    const level = rest.filter((c) => c.dependsOn.every((d) => placed.has(d)));
    if (level.length === 0) throw new Error(`dependency cycle among: ${rest.map((c) => c.name).join(', ')}`);
    for (const c of level) placed.add(c.name);
    levels.push(level);
    rest = rest.filter((c) => !placed.has(c.name));
  }
  return levels;
}

class NativeComponentHandle implements ComponentHandle {
  readonly name: string;
  readonly ports: Readonly<Record<string, number>>;
  #state: ComponentState = 'stopped';
  #proc: SupervisedProcess | undefined;
  #lastExit: ExitInfo | undefined;
  #stopping = false;

  constructor(
    readonly def: NativeComponent,
    readonly ctx: ComponentContext,
    readonly logFile: string,
    private readonly stack: NativeStack,
  ) {
    this.name = def.name;
    this.ports = Object.fromEntries(def.ports.map((p) => [p, ctx.port(def.name, p)]));
  }

  get state(): ComponentState {
    return this.#state;
  }

  get pid(): number | undefined {
    return this.#proc?.running ? this.#proc.pid : undefined;
  }

  get lastExit(): ExitInfo | undefined {
    return this.#lastExit;
  }

  get process(): SupervisedProcess | undefined {
    return this.#proc;
  }

  exited(): Promise<ExitInfo> {
    if (this.#proc) return this.#proc.exited;
    if (this.#lastExit) return Promise.resolve(this.#lastExit);
    return Promise.reject(new Error(`component "${this.name}" was never started`));
  }

  /** Spawns the process and polls its readiness probe until the deadline. */
  async start(signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal, `starting ${this.name}`);
    const spec = this.def.process(this.ctx);
    this.#state = 'starting';
    let proc: SupervisedProcess;
    try {
      proc = await SupervisedProcess.spawn(spec, this.logFile);
    } catch (err) {
      this.#state = 'exited';
      throw new ComponentStartError(
        this.name,
        `could not spawn ${spec.command}: ${(err as Error).message}`,
        this.logFile,
        await tail(this.logFile, LOG_TAIL_LINES),
      );
    }
    this.#proc = proc;
    this.#stopping = false;
    void proc.exited.then((info) => {
      this.#lastExit = info;
      this.#state = this.#stopping ? 'stopped' : 'exited';
      if (!this.#stopping) this.stack.onUnexpectedExit(this, info);
    });
    await this.stack.registry.setComponent(this.name, { pid: proc.pid, startTime: proc.startTime });
    try {
      await waitUntil(() => this.def.ready(this.ctx), {
        what: `${this.name} to become ready`,
        timeoutMs: this.ctx.options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
        signal,
        giveUp: () => {
          const exit = proc.exitInfo;
          return exit && `it exited with ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}`;
        },
      });
    } catch (err) {
      this.#stopping = true;
      await proc.kill('SIGKILL');
      if (err instanceof InterruptedError) throw err;
      throw new ComponentStartError(
        this.name,
        (err as Error).message,
        this.logFile,
        await tail(this.logFile, LOG_TAIL_LINES),
      );
    }
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    this.#stopping = true;
    await proc.stop(this.def.process(this.ctx));
    this.#state = 'stopped';
    await this.stack.registry.setComponent(this.name, undefined);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.#proc;
    if (!proc?.running) return;
    await proc.kill(signal);
  }

  async freeze(): Promise<void> {
    if (this.#proc?.running && this.#proc.signalGroup('SIGSTOP')) this.#state = 'frozen';
  }

  async thaw(): Promise<void> {
    if (this.#proc?.running && this.#proc.signalGroup('SIGCONT')) this.#state = 'running';
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start(this.stack.signal);
  }

  logs(lines = 50): Promise<string> {
    return tail(this.logFile, lines);
  }
}

class NativeStack implements StartedStack {
  readonly runtime = 'native' as const;
  readonly components = new Map<string, NativeComponentHandle>();
  startupMs = 0;
  #stopped: Promise<void> | undefined;
  readonly #exitHook = () => {
    // Last resort when the harness exits without stopping the stack (an uncaught error): no orphans.
    for (const handle of this.components.values()) handle.process?.signalGroup('SIGKILL');
  };

  constructor(
    readonly id: string,
    readonly dir: string,
    readonly profile: TimingProfile,
    readonly endpoints: StackEndpoints,
    readonly registry: StackRegistry,
    readonly sink: AlertSink,
    readonly options: StackOptions,
    readonly signal: AbortSignal | undefined,
    readonly scrapeJobs: readonly string[],
  ) {
    process.on('exit', this.#exitHook);
  }

  get alertSink(): AlertSinkView {
    return this.sink;
  }

  component(name: string): ComponentHandle {
    const handle = this.components.get(name);
    if (!handle) {
      throw new Error(
        `no component "${name}" in stack ${this.id} (have: ${[...this.components.keys()].join(', ')})`,
      );
    }
    return handle;
  }

  onUnexpectedExit(handle: NativeComponentHandle, info: ExitInfo): void {
    if (this.#stopped) return;
    this.options.log?.(
      `! component "${handle.name}" exited unexpectedly (${info.signal ? `signal ${info.signal}` : `code ${info.code}`}); log: ${handle.logFile}`,
    );
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#teardown();
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #teardown(): Promise<void> {
    const levels = startLevels([...this.components.values()].map((h) => h.def)).reverse();
    const failures: string[] = [];
    for (const level of levels) {
      const results = await Promise.allSettled(
        level.map(async (c) => {
          const t0 = Date.now();
          await this.components.get(c.name)?.stop();
          this.options.log?.(`- ${c.name} stopped (${Date.now() - t0} ms)`);
        }),
      );
      for (const r of results) if (r.status === 'rejected') failures.push(String(r.reason));
    }
    const t0 = Date.now();
    await this.sink.close();
    this.options.log?.(`- alert sink closed (${Date.now() - t0} ms)`);
    process.off('exit', this.#exitHook);
    if (this.options.keep) this.options.log?.(`kept stack directory ${this.dir}`);
    else await rm(this.dir, { recursive: true, force: true });
    await this.registry.remove();
    if (failures.length > 0)
      throw new Error(`stack ${this.id} teardown had problems:\n${failures.join('\n')}`);
  }
}

function endpointsOf(
  port: (c: string, p?: string) => number,
  secrets: StackSecrets,
  sinkUrl: string,
): StackEndpoints {
  const http = (c: string, p?: string) => `http://127.0.0.1:${port(c, p)}`;
  const redisPort = port(CORE.toxiproxy, PROXIES.redis);
  const pgPort = port(CORE.toxiproxy, PROXIES.postgres);
  return {
    redis: { url: `redis://127.0.0.1:${redisPort}`, port: redisPort, directPort: port(CORE.redis) },
    postgres: {
      url: `postgresql://${secrets.postgresUser}:${encodeURIComponent(secrets.postgresPassword)}@127.0.0.1:${pgPort}/${secrets.postgresDatabase}`,
      port: pgPort,
      directPort: port(CORE.postgres),
      database: secrets.postgresDatabase,
      user: secrets.postgresUser,
      password: secrets.postgresPassword,
    },
    toxiproxy: { url: http(CORE.toxiproxy, 'api') },
    prometheus: { url: http(CORE.prometheus) },
    alertmanager: { url: http(CORE.alertmanager) },
    redisExporter: { url: http(CORE.redisExporter) },
    postgresExporter: { url: http(CORE.postgresExporter) },
    alertSink: { url: sinkUrl },
  };
}

/**
 * The native runtime: every component a child process of this harness, in its own process group,
 * on 127.0.0.1 and ephemeral ports, with data and logs in a fresh temporary directory.
 */
export class NativeStackRuntime implements StackRuntime {
  readonly name = 'native' as const;

  constructor(private readonly componentList: () => NativeComponent[] = coreComponents) {}

  async start(options: StackOptions = {}): Promise<StartedStack> {
    const t0 = Date.now();
    const log = options.log ?? (() => {});
    const signal = options.signal;
    for (const line of await reapStaleStacks()) log(line);
    const components = this.componentList();
    const levels = startLevels(components);
    await this.#checkTools(components);
    throwIfAborted(signal, 'starting the stack');

    const profile = TIMING_PROFILES[options.profile ?? 'fast'];
    const id = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`;
    const dir = await mkdtemp(path.join(os.tmpdir(), `chatim-slo-stack-${id}-`));
    // Everything acquired before the components start is released if assembling the stack fails.
    let registry: StackRegistry | undefined;
    let sink: AlertSink | undefined;
    let stack: NativeStack;
    try {
      registry = await StackRegistry.create(id, dir, options.keep ?? false);
      const started = await AlertSink.start();
      sink = started;

      const wanted = components.flatMap((c) => c.ports.map((p) => `${c.name}/${p}`));
      const allocated = await allocatePorts(wanted.length);
      const portMap = new Map(wanted.map((key, i) => [key, allocated[i]!]));
      const port = (component: string, name?: string) => {
        const def = components.find((c) => c.name === component);
        const key = `${component}/${name ?? def?.ports[0]}`;
        const value = portMap.get(key);
        if (value === undefined) throw new Error(`no port ${key} in this stack`);
        return value;
      };
      const secrets: StackSecrets = {
        postgresUser: 'chatim',
        postgresPassword: randomBytes(12).toString('base64url'),
        postgresDatabase: 'chatim',
      };
      const scrapeTargets = (): ScrapeTarget[] => [
        ...components.flatMap((c) =>
          c.scrape
            ? [
                {
                  job: c.scrape.job,
                  address: `127.0.0.1:${port(c.name, c.scrape.port)}`,
                  metricsPath: c.scrape.path ?? '/metrics',
                },
              ]
            : [],
        ),
        { job: ALERT_SINK_JOB, address: `127.0.0.1:${started.port}`, metricsPath: '/metrics' },
      ];

      const jobs = [...new Set(scrapeTargets().map((t) => t.job))];
      const endpoints = endpointsOf(port, secrets, started.url);
      stack = new NativeStack(id, dir, profile, endpoints, registry, started, options, signal, jobs);
      await mkdir(path.join(dir, 'logs'));
      for (const def of components) {
        const ctx: ComponentContext = {
          stackDir: dir,
          dir: path.join(dir, 'data', def.name),
          profile,
          options,
          secrets,
          alertSinkUrl: started.url,
          port,
          scrapeTargets,
        };
        stack.components.set(
          def.name,
          new NativeComponentHandle(def, ctx, path.join(dir, 'logs', `${def.name}.log`), stack),
        );
      }
    } catch (err) {
      await sink?.close();
      await registry?.remove();
      if (!options.keep) await rm(dir, { recursive: true, force: true });
      throw err;
    }

    try {
      for (const level of levels) {
        const results = await Promise.allSettled(level.map((def) => this.#bringUp(stack, def.name, signal)));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
    } catch (err) {
      await stack
        .stop()
        .catch((teardownErr: unknown) => log(`teardown after failed start: ${String(teardownErr)}`));
      throw err;
    }
    stack.startupMs = Date.now() - t0;
    return stack;
  }

  async #bringUp(stack: NativeStack, name: string, signal: AbortSignal | undefined): Promise<void> {
    const handle = stack.components.get(name)!;
    const t0 = Date.now();
    await mkdir(handle.ctx.dir, { recursive: true });
    try {
      await handle.def.prepare?.(handle.ctx);
    } catch (err) {
      throw new ComponentStartError(
        name,
        `preparing it failed: ${(err as Error).message}`,
        handle.logFile,
        '',
      );
    }
    await handle.start(signal);
    try {
      await handle.def.afterReady?.(handle.ctx);
    } catch (err) {
      throw new ComponentStartError(
        name,
        (err as Error).message,
        handle.logFile,
        await handle.logs(LOG_TAIL_LINES),
      );
    }
    stack.options.log?.(
      `✓ ${name} ready on ${Object.values(handle.ports).join(', ')} (${Date.now() - t0} ms)`,
    );
  }

  async #checkTools(components: readonly NativeComponent[]): Promise<void> {
    const needed = [...new Set(components.flatMap((c) => c.tools))].map(toolByName);
    const bad = (await checkTools(needed)).filter((s) => !s.ok);
    if (bad.length > 0) {
      throw new HarnessError(
        `the stack needs tools that are not usable:\n${bad.map((s) => `  - ${s.tool.name}: ${s.problem}`).join('\n')}`,
        { exitCode: ExitCode.Environment, hint: 'run `npx chatim-slo tools install`' },
      );
    }
  }
}
