/**
 * The three ChatIM services as components of the native stack: each runs under tsx from the
 * repository root, reaches Redis and PostgreSQL through Toxiproxy, exposes a metrics port that
 * Prometheus scrapes, and is ready when its /readyz (which checks its dependencies) answers 200.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { SCRAPE_JOBS } from '../../../system-under-test/kit/metrics.ts';
import { PACKAGE_ROOT } from '../../util/paths.ts';
import { httpOk } from '../wait.ts';
import type { ComponentContext, NativeComponent } from './component.ts';
import { CORE, coreComponents, postgresUrlFor, redisUrlFor } from './core-components.ts';

export const SUT = {
  gateway: 'gateway',
  userService: 'user-service',
  messageService: 'message-service',
} as const;

/** Prometheus job per service (one definition, in the services' metrics catalogue). */
export const SUT_JOBS = SCRAPE_JOBS;

export interface SutOptions {
  /** Extra environment per service (tests shorten heartbeats, enlarge limits, ...). */
  readonly env?: Partial<Record<keyof typeof SUT_JOBS, Record<string, string>>>;
  /** Debug token for every service's debug port (default: random per stack). */
  readonly debugToken?: string;
  /** JWT secret for the gateway (default: random per stack). */
  readonly jwtSecret?: string;
}

const local = (port: number) => `http://127.0.0.1:${port}`;

export function sutComponents(options: SutOptions = {}): NativeComponent[] {
  const debugToken = options.debugToken ?? randomBytes(18).toString('base64url');
  const jwtSecret = options.jwtSecret ?? randomBytes(32).toString('base64url');
  const service = (
    name: keyof typeof SUT_JOBS,
    dependsOn: string[],
    env: (ctx: ComponentContext) => Record<string, string>,
  ): NativeComponent => ({
    name,
    ports: ['main', 'metrics', 'debug'],
    dependsOn,
    tools: [],
    scrape: { job: SUT_JOBS[name], port: 'metrics' },
    process: (ctx) => ({
      command: process.execPath,
      args: ['--import', 'tsx', path.join('system-under-test', name, 'server.ts')],
      cwd: PACKAGE_ROOT,
      env: {
        NODE_ENV: 'production',
        CHATIM_ENV: 'test',
        CHATIM_LOG_LEVEL: 'warn',
        CHATIM_PORT: String(ctx.port(name, 'main')),
        CHATIM_METRICS_PORT: String(ctx.port(name, 'metrics')),
        CHATIM_DEBUG_PORT: String(ctx.port(name, 'debug')),
        CHATIM_DEBUG_TOKEN: debugToken,
        CHATIM_REDIS_URL: redisUrlFor(ctx),
        ...env(ctx),
        ...options.env?.[name],
      },
      stopTimeoutMs: 10_000,
    }),
    ready: (ctx) => httpOk(`${local(ctx.port(name, 'main'))}/readyz`),
  });
  const data = [CORE.toxiproxy, CORE.redis, CORE.postgres];
  return [
    service(SUT.userService, data, (ctx) => ({
      CHATIM_POSTGRES_URL: postgresUrlFor(ctx),
      CHATIM_PASSWORD_HASH_COST: '10',
    })),
    service(SUT.messageService, [...data, SUT.userService], (ctx) => ({
      CHATIM_POSTGRES_URL: postgresUrlFor(ctx),
    })),
    service(SUT.gateway, [CORE.toxiproxy, CORE.redis, SUT.userService, SUT.messageService], (ctx) => ({
      CHATIM_USER_SERVICE_URL: local(ctx.port(SUT.userService, 'main')),
      CHATIM_MESSAGE_SERVICE_URL: local(ctx.port(SUT.messageService, 'main')),
      CHATIM_JWT_SECRET: jwtSecret,
    })),
  ];
}

/** The whole stack: the core components and the three ChatIM services. What `stack` and `doctor` run. */
export function fullStackComponents(options: SutOptions = {}): NativeComponent[] {
  return [...coreComponents(), ...sutComponents(options)];
}
