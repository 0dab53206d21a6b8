/**
 * Service configuration from the environment: declared once, parsed and validated once at start.
 * Every invalid variable is reported in one error, so a bad deployment is fixed in one round.
 * `.env.example` documents every variable; a test keeps it in step with ENV_VARS below.
 */

export type ServiceName = 'gateway' | 'user-service' | 'message-service';

interface VarSpec {
  readonly description: string;
  /** Services that read it. */
  readonly services: readonly ServiceName[];
  /** Default as a string (undefined = required unless `optional`). */
  readonly default?: string;
  readonly optional?: boolean;
  readonly parse: (raw: string) => unknown;
}

const ALL: readonly ServiceName[] = ['gateway', 'user-service', 'message-service'];

class ParseError extends Error {}

function int(min: number, max: number) {
  return (raw: string): number => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ParseError(`must be an integer, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new ParseError(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

function num(min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new ParseError(`must be a number, got "${raw}"`);
    if (n < min || n > max) throw new ParseError(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

function oneOf<T extends string>(...values: T[]) {
  return (raw: string): T => {
    if (!(values as string[]).includes(raw))
      throw new ParseError(`must be one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  };
}

function url(...protocols: string[]) {
  return (raw: string): string => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new ParseError(`must be a URL, got "${raw}"`);
    }
    if (!protocols.includes(u.protocol)) {
      throw new ParseError(`must use ${protocols.join(' or ')}, got ${u.protocol}`);
    }
    return raw.replace(/\/$/, '');
  };
}

const str =
  (minLength = 0) =>
  (raw: string) => {
    if (raw.length < minLength) throw new ParseError(`must be at least ${minLength} characters long`);
    return raw;
  };

const list = (raw: string) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

const bool = (raw: string): boolean => {
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ParseError(`must be true or false, got "${raw}"`);
};

/** Every variable any service reads. Order here is the order in `.env.example`. */
export const ENV_VARS = {
  CHATIM_ENV: {
    description:
      'Mode (development, test, production); in production the gateway refuses to start without CHATIM_JWT_SECRET',
    services: ALL,
    default: 'development',
    parse: oneOf('development', 'test', 'production'),
  },
  CHATIM_LOG_LEVEL: {
    description: 'Log level (fatal, error, warn, info, debug, trace, silent)',
    services: ALL,
    default: 'info',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  CHATIM_LISTEN_HOST: {
    description:
      'Address of the main and metrics ports: 127.0.0.1, or 0.0.0.0 inside a container (compose.yaml); the debug port is always 127.0.0.1',
    services: ALL,
    default: '127.0.0.1',
    parse: oneOf('127.0.0.1', '0.0.0.0'),
  },
  CHATIM_PORT: {
    description: 'Main HTTP port on 127.0.0.1 (0 = any free port)',
    services: ALL,
    default: '0',
    parse: int(0, 65535),
  },
  CHATIM_METRICS_PORT: {
    description: 'Prometheus /metrics port on 127.0.0.1 (0 = any free port)',
    services: ALL,
    default: '0',
    parse: int(0, 65535),
  },
  CHATIM_DEBUG_PORT: {
    description: 'Debug port (pprof + fault switchboard) on 127.0.0.1; unset = debug port off',
    services: ALL,
    optional: true,
    parse: int(0, 65535),
  },
  CHATIM_DEBUG_TOKEN: {
    description:
      'Bearer token required on the debug port (at least 16 characters; required when the port is on)',
    services: ALL,
    optional: true,
    parse: str(16),
  },
  CHATIM_REDIS_URL: {
    description: 'Redis URL (redis://host:port)',
    services: ['gateway', 'user-service', 'message-service'],
    parse: url('redis:'),
  },
  CHATIM_POSTGRES_URL: {
    description: 'PostgreSQL URL (postgresql://user:password@host:port/db)',
    services: ['user-service', 'message-service'],
    parse: url('postgresql:', 'postgres:'),
  },
  CHATIM_POSTGRES_POOL_MAX: {
    description: 'Maximum PostgreSQL connections per service',
    services: ['user-service', 'message-service'],
    default: '10',
    parse: int(1, 200),
  },
  CHATIM_USER_SERVICE_URL: {
    description: 'Base URL of user-service (gateway only)',
    services: ['gateway'],
    parse: url('http:'),
  },
  CHATIM_MESSAGE_SERVICE_URL: {
    description: 'Base URL of message-service (gateway only)',
    services: ['gateway'],
    parse: url('http:'),
  },
  CHATIM_JWT_SECRET: {
    description: 'HS256 secret for access tokens (at least 32 characters); required in production',
    services: ['gateway'],
    optional: true,
    parse: str(32),
  },
  CHATIM_JWT_TTL_SECONDS: {
    description: 'Lifetime of an access token in seconds',
    services: ['gateway'],
    default: '86400',
    parse: int(1, 30 * 86400),
  },
  CHATIM_WS_ALLOWED_ORIGINS: {
    description: 'Comma-separated Origin values accepted on /ws; empty = only clients that send no Origin',
    services: ['gateway'],
    default: '',
    parse: list,
  },
  CHATIM_WS_PING_INTERVAL_MS: {
    description: 'WebSocket ping interval; a socket that misses a pong for one interval is closed',
    services: ['gateway'],
    default: '30000',
    parse: int(100, 600_000),
  },
  CHATIM_WS_MAX_BUFFERED_BYTES: {
    description: 'Outbound bytes queued on one socket before it is closed as a slow consumer (4008)',
    services: ['gateway'],
    default: '1048576',
    parse: int(1024, 1 << 30),
  },
  CHATIM_WS_MAX_SOCKETS_PER_USER: {
    description:
      'Open WebSockets one user may hold on this gateway; the one over it is closed at once (4004 too many sockets)',
    services: ['gateway'],
    default: '10',
    parse: int(1, 10_000),
  },
  CHATIM_RATE_LIMIT_PER_SECOND: {
    description: 'Per-user message send rate (token bucket refill per second; 0 = no limit)',
    services: ['gateway'],
    default: '0',
    parse: num(0, 1_000_000),
  },
  CHATIM_RATE_LIMIT_BURST: {
    description: 'Per-user message send burst (token bucket size)',
    services: ['gateway'],
    default: '100',
    parse: int(1, 1_000_000),
  },
  CHATIM_AUTH_RATE_LIMIT_PER_SECOND: {
    description:
      'Login and register rate per client IP, and login rate per username (token bucket refill per second; 0 = no limit): each runs scrypt',
    services: ['gateway'],
    default: '1',
    parse: num(0, 1_000_000),
  },
  CHATIM_AUTH_RATE_LIMIT_BURST: {
    description: 'Login and register burst per client IP, and login burst per username (token bucket size)',
    services: ['gateway'],
    default: '100',
    parse: int(1, 1_000_000),
  },
  CHATIM_PASSWORD_HASH_COST: {
    description: 'scrypt cost exponent: N = 2^cost (10 fast for tests, 15 for production)',
    services: ['user-service'],
    default: '14',
    parse: int(4, 20),
  },
  CHATIM_STREAM_MAXLEN: {
    description: 'Retention of each user inbox stream (approximate MAXLEN)',
    services: ['message-service'],
    default: '10000',
    parse: int(100, 10_000_000),
  },
  CHATIM_GROUP_MAX_MEMBERS: {
    description: 'Largest group a message fans out to',
    services: ['user-service', 'message-service'],
    default: '500',
    parse: int(2, 100_000),
  },
  CHATIM_PERSIST_BATCH: {
    description: 'Persist worker: entries read per batch',
    services: ['message-service'],
    default: '200',
    parse: int(1, 10_000),
  },
  CHATIM_PERSIST_RECLAIM_IDLE_MS: {
    description: 'Persist worker: entries another consumer left pending this long are reclaimed (XCLAIM)',
    services: ['message-service'],
    default: '30000',
    parse: int(100, 3_600_000),
  },
  CHATIM_PERSIST_WORKER: {
    description: 'Run the persist worker in this message-service process',
    services: ['message-service'],
    default: 'true',
    parse: bool,
  },
} as const satisfies Record<string, VarSpec>;

export type EnvVarName = keyof typeof ENV_VARS;

type Parsed<K extends EnvVarName> = ReturnType<(typeof ENV_VARS)[K]['parse']>;

export interface ServiceConfig {
  readonly service: ServiceName;
  readonly env: 'development' | 'test' | 'production';
  readonly logLevel: string;
  readonly listenHost: '127.0.0.1' | '0.0.0.0';
  readonly port: number;
  readonly metricsPort: number;
  readonly debug: { readonly port: number; readonly token: string } | undefined;
  readonly redisUrl: string;
  readonly postgresUrl: string;
  readonly postgresPoolMax: number;
  readonly userServiceUrl: string;
  readonly messageServiceUrl: string;
  readonly jwtSecret: string | undefined;
  readonly jwtTtlSeconds: number;
  readonly wsAllowedOrigins: readonly string[];
  readonly wsPingIntervalMs: number;
  readonly wsMaxBufferedBytes: number;
  readonly wsMaxSocketsPerUser: number;
  readonly rateLimitPerSecond: number;
  readonly rateLimitBurst: number;
  readonly authRateLimitPerSecond: number;
  readonly authRateLimitBurst: number;
  readonly passwordHashCost: number;
  readonly streamMaxLen: number;
  readonly groupMaxMembers: number;
  readonly persistBatch: number;
  readonly persistReclaimIdleMs: number;
  readonly persistWorker: boolean;
}

export class ConfigError extends Error {
  constructor(
    readonly service: ServiceName,
    readonly problems: readonly string[],
  ) {
    super(
      `invalid configuration for ${service} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}\nsee .env.example for every variable`,
    );
    this.name = 'ConfigError';
  }
}

/**
 * Parses the variables `service` reads. Unknown CHATIM_* variables are reported too (a typo must
 * not silently fall back to a default).
 */
export function loadConfig(
  service: ServiceName,
  env: Readonly<Record<string, string | undefined>>,
): ServiceConfig {
  const problems: string[] = [];
  const values = new Map<string, unknown>();
  for (const [name, spec] of Object.entries(ENV_VARS) as [EnvVarName, VarSpec][]) {
    if (!spec.services.includes(service)) continue;
    const raw = env[name];
    if (raw === undefined || raw === '') {
      if (spec.default !== undefined) values.set(name, spec.parse(spec.default));
      else if (!spec.optional) problems.push(`${name} is required (${spec.description})`);
      continue;
    }
    try {
      values.set(name, spec.parse(raw));
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      problems.push(`${name} ${err.message}`);
    }
  }
  for (const name of Object.keys(env)) {
    if (name.startsWith('CHATIM_') && !Object.hasOwn(ENV_VARS, name)) {
      problems.push(`${name} is not a known variable`);
    }
  }
  const get = <K extends EnvVarName>(name: K) => values.get(name) as Parsed<K>;
  const mode = get('CHATIM_ENV');
  const debugPort = values.get('CHATIM_DEBUG_PORT') as number | undefined;
  const debugToken = values.get('CHATIM_DEBUG_TOKEN') as string | undefined;
  if (
    debugPort !== undefined &&
    debugToken === undefined &&
    !problems.some((p) => p.startsWith('CHATIM_DEBUG_TOKEN'))
  ) {
    problems.push('CHATIM_DEBUG_TOKEN is required when CHATIM_DEBUG_PORT is set');
  }
  if (
    service === 'gateway' &&
    mode === 'production' &&
    values.get('CHATIM_JWT_SECRET') === undefined &&
    !problems.some((p) => p.startsWith('CHATIM_JWT_SECRET'))
  ) {
    problems.push('CHATIM_JWT_SECRET is required when CHATIM_ENV=production');
  }
  if (problems.length > 0) throw new ConfigError(service, problems);
  const opt = <T>(name: EnvVarName, fallback: T) => (values.has(name) ? (values.get(name) as T) : fallback);
  return {
    service,
    env: mode,
    logLevel: get('CHATIM_LOG_LEVEL'),
    listenHost: get('CHATIM_LISTEN_HOST'),
    port: get('CHATIM_PORT'),
    metricsPort: get('CHATIM_METRICS_PORT'),
    debug:
      debugPort !== undefined && debugToken !== undefined
        ? { port: debugPort, token: debugToken }
        : undefined,
    redisUrl: opt('CHATIM_REDIS_URL', ''),
    postgresUrl: opt('CHATIM_POSTGRES_URL', ''),
    postgresPoolMax: opt('CHATIM_POSTGRES_POOL_MAX', 10),
    userServiceUrl: opt('CHATIM_USER_SERVICE_URL', ''),
    messageServiceUrl: opt('CHATIM_MESSAGE_SERVICE_URL', ''),
    jwtSecret: opt<string | undefined>('CHATIM_JWT_SECRET', undefined),
    jwtTtlSeconds: opt('CHATIM_JWT_TTL_SECONDS', 86400),
    wsAllowedOrigins: opt<string[]>('CHATIM_WS_ALLOWED_ORIGINS', []),
    wsPingIntervalMs: opt('CHATIM_WS_PING_INTERVAL_MS', 30_000),
    wsMaxBufferedBytes: opt('CHATIM_WS_MAX_BUFFERED_BYTES', 1 << 20),
    wsMaxSocketsPerUser: opt('CHATIM_WS_MAX_SOCKETS_PER_USER', 10),
    rateLimitPerSecond: opt('CHATIM_RATE_LIMIT_PER_SECOND', 0),
    rateLimitBurst: opt('CHATIM_RATE_LIMIT_BURST', 100),
    authRateLimitPerSecond: opt('CHATIM_AUTH_RATE_LIMIT_PER_SECOND', 1),
    authRateLimitBurst: opt('CHATIM_AUTH_RATE_LIMIT_BURST', 100),
    passwordHashCost: opt('CHATIM_PASSWORD_HASH_COST', 14),
    streamMaxLen: opt('CHATIM_STREAM_MAXLEN', 10_000),
    groupMaxMembers: opt('CHATIM_GROUP_MAX_MEMBERS', 500),
    persistBatch: opt('CHATIM_PERSIST_BATCH', 200),
    persistReclaimIdleMs: opt('CHATIM_PERSIST_RECLAIM_IDLE_MS', 30_000),
    persistWorker: opt('CHATIM_PERSIST_WORKER', true),
  };
}
