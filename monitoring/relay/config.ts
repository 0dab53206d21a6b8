import { readFileSync } from 'node:fs';
import { ConfigError } from '../../harness/errors.ts';

/**
 * Configuration of the DingTalk/WeCom relay, read once from environment variables. Robots are named
 * targets: `RELAY_DINGTALK_<NAME>_URL` makes the route `POST /dingtalk/<name>` (NAME lower-cased,
 * `_` → `-`). Webhook URLs carry the robot's credential (`access_token`, `key`), so both URLs and
 * DingTalk signing secrets may come from a file (`…_FILE`) instead of the environment.
 * docs/relay.md lists every variable.
 */

export type Channel = 'dingtalk' | 'wecom';

export interface DingTalkTarget {
  readonly channel: 'dingtalk';
  /** The route name, `/dingtalk/<name>`. */
  readonly name: string;
  /** The robot's webhook URL including `access_token`. Secret: never log it whole. */
  readonly url: string;
  /** The "加签" secret (`SEC…`); when set, every request is signed. */
  readonly secret: string | undefined;
  /** Mobiles to @-mention on firing notifications. */
  readonly atMobiles: readonly string[];
  /** @-mention everyone on firing notifications. */
  readonly atAll: boolean;
}

export interface WeComTarget {
  readonly channel: 'wecom';
  readonly name: string;
  /** The group robot's webhook URL including `key`. Secret: never log it whole. */
  readonly url: string;
}

export type RelayTarget = DingTalkTarget | WeComTarget;

export interface RelayConfig {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Deadline for one request to a robot, connection to last byte of the answer. */
  readonly upstreamTimeoutMs: number;
  /** Largest Alertmanager request body accepted; bigger ones get 413. */
  readonly maxBodyBytes: number;
  /** IANA time zone that startsAt/endsAt are shown in. */
  readonly timeZone: string;
  readonly dingtalk: ReadonlyMap<string, DingTalkTarget>;
  readonly wecom: ReadonlyMap<string, WeComTarget>;
}

export const RELAY_DEFAULTS = {
  host: '127.0.0.1',
  port: 8060,
  upstreamTimeoutMs: 10_000,
  maxBodyBytes: 4 * 1024 * 1024,
  timeZone: 'UTC',
} as const;

/** Global variables (everything else under RELAY_ is a robot variable or a mistake). */
export const GLOBAL_VARIABLES = [
  'RELAY_LISTEN_HOST',
  'RELAY_PORT',
  'RELAY_UPSTREAM_TIMEOUT_MS',
  'RELAY_MAX_BODY_BYTES',
  'RELAY_TIMEZONE',
] as const;

/** Per-robot variable suffixes, by channel. */
export const TARGET_SUFFIXES = {
  dingtalk: ['URL', 'URL_FILE', 'SECRET', 'SECRET_FILE', 'AT_MOBILES', 'AT_ALL'],
  wecom: ['URL', 'URL_FILE'],
} as const satisfies Record<Channel, readonly string[]>;

const NAME_PATTERN = '[A-Z0-9]+(?:_[A-Z0-9]+)*';

export interface ConfigSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a `*_FILE` variable's file; defaults to fs.readFileSync(path, 'utf8'). */
  readonly readFile?: (path: string) => string;
}

/** Route name of an env NAME: `OPS_TEAM` → `ops-team`. */
export function routeName(envName: string): string {
  return envName.toLowerCase().replaceAll('_', '-');
}

/**
 * Parses and validates the relay configuration. Every problem found is collected and thrown as one
 * ConfigError, so a person fixes the environment in one go.
 */
export function loadRelayConfig(sources: ConfigSources): RelayConfig {
  const env = sources.env;
  const readFile = sources.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const problems: string[] = [];

  const host = nonEmpty(env.RELAY_LISTEN_HOST) ?? RELAY_DEFAULTS.host;
  const port = integerVar(env, 'RELAY_PORT', RELAY_DEFAULTS.port, 0, 65_535, problems);
  const upstreamTimeoutMs = integerVar(
    env,
    'RELAY_UPSTREAM_TIMEOUT_MS',
    RELAY_DEFAULTS.upstreamTimeoutMs,
    50,
    120_000,
    problems,
  );
  const maxBodyBytes = integerVar(
    env,
    'RELAY_MAX_BODY_BYTES',
    RELAY_DEFAULTS.maxBodyBytes,
    1024,
    64 * 1024 * 1024,
    problems,
  );
  const timeZone = nonEmpty(env.RELAY_TIMEZONE) ?? RELAY_DEFAULTS.timeZone;
  if (!isTimeZone(timeZone)) {
    problems.push(`RELAY_TIMEZONE="${timeZone}" is not an IANA time zone (e.g. UTC, Asia/Shanghai)`);
  }

  // Group robot variables by channel and NAME; anything unrecognised under RELAY_ is reported.
  const byTarget = new Map<string, { channel: Channel; envName: string; vars: Map<string, string> }>();
  const pattern = new RegExp(`^RELAY_(DINGTALK|WECOM)_(${NAME_PATTERN})_([A-Z_]+)$`);
  for (const key of Object.keys(env).sort()) {
    if (!key.startsWith('RELAY_') || (GLOBAL_VARIABLES as readonly string[]).includes(key)) continue;
    const value = env[key];
    if (value === undefined) continue;
    const parsed = parseTargetVariable(key, pattern);
    if (parsed === undefined) {
      problems.push(
        `${key} is not a relay variable (known: ${GLOBAL_VARIABLES.join(', ')}, ` +
          `RELAY_DINGTALK_<NAME>_{${TARGET_SUFFIXES.dingtalk.join(',')}}, ` +
          `RELAY_WECOM_<NAME>_{${TARGET_SUFFIXES.wecom.join(',')}})`,
      );
      continue;
    }
    const id = `${parsed.channel}/${parsed.envName}`;
    let entry = byTarget.get(id);
    if (entry === undefined) {
      entry = { channel: parsed.channel, envName: parsed.envName, vars: new Map() };
      byTarget.set(id, entry);
    }
    entry.vars.set(parsed.suffix, value);
  }

  const dingtalk = new Map<string, DingTalkTarget>();
  const wecom = new Map<string, WeComTarget>();
  for (const { channel, envName, vars } of byTarget.values()) {
    const prefix = `RELAY_${channel.toUpperCase()}_${envName}`;
    const name = routeName(envName);
    const url = valueOrFile(prefix, 'URL', vars, readFile, problems);
    if (url === undefined) {
      problems.push(`${prefix}_URL (or ${prefix}_URL_FILE) is required for the ${channel} robot "${name}"`);
    } else if (url !== INVALID) {
      checkRobotUrl(`${prefix}_URL`, url, channel === 'dingtalk' ? 'access_token' : 'key', problems);
    }
    if (channel === 'wecom') {
      wecom.set(name, { channel, name, url: typeof url === 'string' ? url : '' });
      continue;
    }
    const secret = valueOrFile(prefix, 'SECRET', vars, readFile, problems);
    const atMobiles = (vars.get('AT_MOBILES') ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m !== '');
    for (const mobile of atMobiles) {
      if (!/^\+?[0-9-]{5,20}$/.test(mobile)) {
        problems.push(`${prefix}_AT_MOBILES: "${mobile}" is not a phone number`);
      }
    }
    const atAllRaw = vars.get('AT_ALL');
    let atAll = false;
    if (atAllRaw !== undefined) {
      if (atAllRaw === 'true' || atAllRaw === '1') atAll = true;
      else if (atAllRaw !== 'false' && atAllRaw !== '0' && atAllRaw !== '') {
        problems.push(`${prefix}_AT_ALL="${atAllRaw}" must be true or false`);
      }
    }
    dingtalk.set(name, {
      channel,
      name,
      url: typeof url === 'string' ? url : '',
      secret: typeof secret === 'string' ? secret : undefined,
      atMobiles,
      atAll,
    });
  }

  if (byTarget.size === 0) {
    problems.push(
      'no robot is configured: set at least one RELAY_DINGTALK_<NAME>_URL or RELAY_WECOM_<NAME>_URL',
    );
  }

  if (problems.length > 0) {
    throw new ConfigError(
      'invalid relay configuration',
      problems,
      'see docs/relay.md for every variable; secrets may be given as files with the *_FILE variables',
    );
  }
  return { host, port, upstreamTimeoutMs, maxBodyBytes, timeZone, dingtalk, wecom };
}

function parseTargetVariable(
  key: string,
  pattern: RegExp,
): { channel: Channel; envName: string; suffix: string } | undefined {
  // The NAME may itself contain underscores, so try every split and keep the one whose suffix is known.
  const match = pattern.exec(key);
  if (match === null) return undefined;
  const channel: Channel = match[1] === 'DINGTALK' ? 'dingtalk' : 'wecom';
  const rest = key.slice(`RELAY_${match[1]}_`.length);
  const suffixes: readonly string[] = TARGET_SUFFIXES[channel];
  // Longest suffix first, so `X_URL_FILE` is NAME=X + URL_FILE, not NAME=X_URL + FILE.
  for (const suffix of [...suffixes].sort((a, b) => b.length - a.length)) {
    if (!rest.endsWith(`_${suffix}`)) continue;
    const envName = rest.slice(0, -suffix.length - 1);
    if (new RegExp(`^${NAME_PATTERN}$`).test(envName)) return { channel, envName, suffix };
  }
  return undefined;
}

/** A `*_FILE`/value pair whose problem has already been reported. */
const INVALID = Symbol('invalid');

function valueOrFile(
  prefix: string,
  what: 'URL' | 'SECRET',
  vars: ReadonlyMap<string, string>,
  readFile: (path: string) => string,
  problems: string[],
): string | typeof INVALID | undefined {
  const direct = vars.get(what);
  const file = vars.get(`${what}_FILE`);
  if (direct !== undefined && file !== undefined) {
    problems.push(`set only one of ${prefix}_${what} and ${prefix}_${what}_FILE`);
    return INVALID;
  }
  if (file !== undefined) {
    let content: string;
    try {
      content = readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(`${prefix}_${what}_FILE: cannot read "${file}" (${code ?? (err as Error).message})`);
      return INVALID;
    }
    const value = content.trim();
    if (value === '') {
      problems.push(`${prefix}_${what}_FILE: "${file}" is empty`);
      return INVALID;
    }
    return value;
  }
  if (direct !== undefined) {
    const value = direct.trim();
    if (value === '') {
      problems.push(`${prefix}_${what} is set but empty`);
      return INVALID;
    }
    return value;
  }
  return undefined;
}

function checkRobotUrl(variable: string, raw: string, credential: string, problems: string[]): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Do not echo the value: it holds the robot's credential.
    problems.push(`${variable} is not a valid URL`);
    return;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push(`${variable} must be an http(s) URL, not ${url.protocol}`);
  }
  if (!url.searchParams.get(credential)) {
    problems.push(`${variable} (${url.origin}${url.pathname}) has no ${credential} query parameter`);
  }
  if (credential === 'access_token' && (url.searchParams.has('timestamp') || url.searchParams.has('sign'))) {
    problems.push(
      `${variable} already has timestamp/sign parameters: give the plain robot URL and the secret separately`,
    );
  }
}

function integerVar(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    problems.push(`${name}="${raw}" must be an integer from ${min} to ${max}`);
    return fallback;
  }
  return Number(raw);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
