import type { ScrapeTarget } from '../../../monitoring/prometheus/config.ts';
import type { ProcessSpec } from '../process.ts';
import type { TimingProfile } from '../profiles.ts';
import type { StackOptions } from '../types.ts';

/** Secrets generated per stack (never written anywhere but the stack's own directory). */
export interface StackSecrets {
  readonly postgresUser: string;
  readonly postgresPassword: string;
  readonly postgresDatabase: string;
}

export interface ComponentContext {
  readonly stackDir: string;
  /** This component's own data directory (stackDir/data/<name>), created before prepare(). */
  readonly dir: string;
  readonly profile: TimingProfile;
  readonly options: StackOptions;
  readonly secrets: StackSecrets;
  readonly alertSinkUrl: string;
  /** Port `port` (default: the first declared) of component `component`. */
  port(component: string, port?: string): number;
  /** Every scrape target of the stack, derived from the component list. */
  scrapeTargets(): ScrapeTarget[];
}

/**
 * One process of the native stack, declared as data plus a few hooks. The SUT's services are
 * added the same way: one entry each.
 */
export interface NativeComponent {
  readonly name: string;
  /** Named ports to allocate on 127.0.0.1 (the first is the main one). */
  readonly ports: readonly string[];
  /** Components that must be ready before this one starts. */
  readonly dependsOn: readonly string[];
  /** Tools (manifest names) this component needs. */
  readonly tools: readonly string[];
  /** How Prometheus scrapes it, if it exposes metrics. */
  readonly scrape?: { readonly job: string; readonly port?: string; readonly path?: string };
  /** Once per stack, before the first start: write configs, initialise data. */
  prepare?(ctx: ComponentContext): Promise<void>;
  process(ctx: ComponentContext): ProcessSpec;
  /** One readiness probe against a real health endpoint; the runtime polls it with a deadline. */
  ready(ctx: ComponentContext): Promise<boolean>;
  /** Once per stack, after the first start is ready (create the database). */
  afterReady?(ctx: ComponentContext): Promise<void>;
}
