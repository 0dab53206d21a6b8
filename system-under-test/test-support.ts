/**
 * Helpers shared by the ChatIM test files: a JSON client for the public API (users, friends), a
 * WebSocket client that queues frames, and readers for metrics (exposition text from a running
 * service, or a Metrics object in process), and an in-memory Redis for the gateway's route tests.
 * Not a test file itself.
 */
import { EventEmitter } from 'node:events';
import { expect } from 'vitest';
import WebSocket from 'ws';
import type { StartedStack } from '../harness/stack/types.ts';
import { KEYS } from './kit/keys.ts';
import type { MetricName, Metrics } from './kit/metrics.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of the API under test, checked by assertions
export type J = any;

/** Generous deadline for anything a test waits for on the real stack (2-core noisy machine). */
export const DEADLINE = 30_000;

export interface Res {
  status: number;
  body: Record<string, J>;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

export interface User {
  id: string;
  token: string;
  name: string;
}

/** The public API of the gateway at `base()` (a getter: the URL is known only once the stack is up). */
export function apiHelpers(base: () => string) {
  async function call(method: string, path: string, opts: CallOptions = {}): Promise<Res> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const r = await fetch(`${base()}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await r.text();
    let parsed: Record<string, J>;
    try {
      parsed = JSON.parse(text) as Record<string, J>;
    } catch {
      parsed = { unparsable: text };
    }
    return { status: r.status, body: parsed };
  }

  async function ok(method: string, path: string, opts: CallOptions = {}): Promise<Record<string, J>> {
    const r = await call(method, path, opts);
    expect(r, `${method} ${path}`).toMatchObject({ status: 200, body: { code: 0 } });
    return r.body;
  }

  let seq = 0;
  async function newUser(prefix: string): Promise<User> {
    const name = `${prefix}_${process.pid}_${seq++}`;
    const reg = await ok('POST', '/api/v1/users', {
      body: { username: name, password: 'correct horse', nickname: prefix },
    });
    const login = await ok('POST', '/api/v1/login', { body: { username: name, password: 'correct horse' } });
    expect(login.user_id).toBe(reg.user_id);
    return { id: reg.user_id, token: login.token, name };
  }

  async function befriend(a: User, b: User): Promise<void> {
    const req = await ok('POST', '/api/v1/friends/requests', {
      token: a.token,
      body: { to_user_id: b.id, message: 'hi' },
    });
    await ok('POST', '/api/v1/friends/requests/handle', {
      token: b.token,
      body: { request_id: req.request_id, accept: true },
    });
  }

  return { call, ok, newUser, befriend };
}

/** A WebSocket to the gateway at `base` whose frames are queued; `next` waits (with a deadline) for a matching one. */
export class WsClient {
  readonly frames: J[] = [];
  readonly ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];

  /** `autoPong: false` makes a client that no longer answers the server's pings. */
  constructor(
    base: string,
    token: string,
    opts: { viaQuery?: boolean; origin?: string; autoPong?: boolean } = {},
  ) {
    const url = `${base.replace('http', 'ws')}/ws${opts.viaQuery ? `?token=${token}` : ''}`;
    this.ws = new WebSocket(url, {
      autoPong: opts.autoPong ?? true,
      headers: {
        ...(opts.viaQuery ? {} : { authorization: `Bearer ${token}` }),
        ...(opts.origin ? { origin: opts.origin } : {}),
      },
    });
    this.ws.on('message', (d) => {
      this.frames.push(JSON.parse(d.toString()));
      for (const w of this.#waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) =>
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  async next(pred: (f: J) => boolean): Promise<J> {
    const deadline = Date.now() + DEADLINE;
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(i, 1)[0];
      if (Date.now() > deadline) throw new Error(`no matching frame; have ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 500);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

/** The Prometheus exposition of a running service's metrics port. */
export async function metricsText(stack: StartedStack, service: string): Promise<string> {
  const port = stack.component(service).ports.metrics;
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** Sum of the samples of `name` whose labels include `labels`, in exposition text. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Sum of a counter's (or gauge's) values whose labels include `labels`, read from an in-process Metrics. */
export async function counterValue(
  metrics: Metrics,
  name: MetricName,
  labels: Record<string, string> = {},
): Promise<number> {
  const data = await (
    metrics.get(name) as unknown as {
      get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }>;
    }
  ).get();
  return data.values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/** The part of ioredis the gateway uses, in memory. */
export class FakeRedis extends EventEmitter {
  readonly keys = new Map<string, string>();
  status = 'ready';

  async ping(): Promise<string> {
    return 'PONG';
  }
  async exists(key: string): Promise<number> {
    return this.keys.has(key) ? 1 : 0;
  }
  async set(key: string, value: string): Promise<string> {
    this.keys.set(key, value);
    return 'OK';
  }
  async del(key: string): Promise<number> {
    return this.keys.delete(key) ? 1 : 0;
  }
  async subscribe(): Promise<number> {
    return 1;
  }
  pipeline() {
    const ops: [string, string][] = [];
    const p = {
      set: (key: string, value: string) => {
        ops.push([key, value]);
        return p;
      },
      exec: async () =>
        ops.map(([k, v]) => {
          this.keys.set(k, v);
          return [null, 'OK'];
        }),
    };
    return p;
  }
  /** What message-service publishes on `message_notifications` for one recipient. */
  push(userId: string, frame: string): void {
    this.emit('message', KEYS.notifications, `private|${userId}|${frame}`);
  }
}

/**
 * The gateway's tunables for route tests: long heartbeat, 1 MiB send buffer, 10 sockets per user,
 * rate limits off. Tests spread it into `buildApp` deps and override what they exercise.
 */
export const GATEWAY_TEST_SETTINGS = {
  jwtTtlSeconds: 3600,
  wsPingIntervalMs: 60_000,
  wsMaxBufferedBytes: 1 << 20,
  wsMaxSocketsPerUser: 10,
  rateLimitPerSecond: 0,
  rateLimitBurst: 1,
  authRateLimitPerSecond: 0,
  authRateLimitBurst: 1,
} as const;
