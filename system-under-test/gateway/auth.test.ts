/**
 * Authentication at the gateway at route level (`inject`, no network, no Redis): the §8 security
 * defects of the original (chatim-surface.md §8.1–§8.3) must not come back. The backends are
 * recording fakes, so "the handler never ran" is observable as "no backend call was made".
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { USER_HEADER } from '../kit/api.ts';
import { ERRORS } from '../kit/errors.ts';
import type { CallOptions, CallResult, InternalClient } from '../kit/http-client.ts';
import { Metrics } from '../kit/metrics.ts';
import { RedisMetrics } from '../kit/redis.ts';
import { counterValue, FakeRedis, GATEWAY_TEST_SETTINGS } from '../test-support.ts';
import { buildApp, type GatewayDeps } from './app.ts';
import { signToken } from './jwt.ts';

const SECRET = 'auth-route-test-secret-0123456789abcdef';
const USER = '11111111-1111-4111-8111-111111111111';

/** A backend that records every call and answers 200 `{code:0}` (login: the user id). */
class RecordingBackend {
  readonly calls: CallOptions[] = [];
  async call(options: CallOptions): Promise<CallResult> {
    this.calls.push(options);
    return { status: 200, text: JSON.stringify({ code: 0, user_id: USER }) };
  }
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function gateway(overrides: Partial<GatewayDeps> = {}) {
  const metrics = new Metrics('gateway');
  const users = new RecordingBackend();
  const messages = new RecordingBackend();
  const app = buildApp({
    metrics,
    redis: new FakeRedis() as unknown as Redis,
    subscriber: new FakeRedis() as unknown as Redis,
    redisMetrics: new RedisMetrics(metrics),
    userService: users as unknown as InternalClient,
    messageService: messages as unknown as InternalClient,
    jwtSecret: SECRET,
    ...GATEWAY_TEST_SETTINGS,
    wsAllowedOrigins: [],
    ...overrides,
  });
  apps.push(app);
  await app.ready();
  const backendCalls = () => users.calls.length + messages.calls.length;
  return { app, metrics, users, messages, backendCalls };
}

/** The body must be exactly one JSON document (the original appended a second one after its 401). */
function single(body: string): Record<string, unknown> {
  return JSON.parse(body) as Record<string, unknown>;
}

describe('gateway authentication (inject)', () => {
  it('defect 1: a request without a valid token gets one 401 and never reaches a backend', async () => {
    const gw = await gateway();
    const expired = signToken(USER, SECRET, 1, Date.now() - 10_000).token;
    const cases: [string, Record<string, string>, number][] = [
      ['missing', {}, ERRORS.AUTH_REQUIRED.code],
      ['not Bearer', { authorization: `Token ${expired}` }, ERRORS.AUTH_HEADER_MALFORMED.code],
      ['garbage', { authorization: 'Bearer abc.def.ghi' }, ERRORS.AUTH_TOKEN_INVALID.code],
      ['expired', { authorization: `Bearer ${expired}` }, ERRORS.AUTH_TOKEN_INVALID.code],
    ];
    for (const [name, headers, code] of cases) {
      for (const [method, url, payload] of [
        ['GET', '/api/v1/users/me', undefined],
        ['POST', '/api/v1/messages/send', { to_user_id: USER, content: 'x' }],
      ] as const) {
        const res = await gw.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
        expect({ name, url, status: res.statusCode, code: single(res.body).code }).toEqual({
          name,
          url,
          status: 401,
          code,
        });
      }
    }
    expect(gw.backendCalls()).toBe(0);
    // Control: a valid token is forwarded, with the user id from the token (not from the client).
    const ok = await gw.app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${signToken(USER, SECRET, 60).token}`, [USER_HEADER]: 'forged' },
    });
    expect(ok.statusCode).toBe(200);
    expect(gw.users.calls.map((c) => c.headers?.[USER_HEADER])).toEqual([USER]);
  });

  it('defect 2: tokens use the configured secret, ?token= is refused on REST, logout revokes the token', async () => {
    const gw = await gateway();
    const foreign = signToken(USER, 'the-original-hard-coded-secret-0123456789', 60).token;
    const res = await gw.app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${foreign}` },
    });
    expect([res.statusCode, single(res.body).code]).toEqual([401, ERRORS.AUTH_TOKEN_INVALID.code]);

    const token = signToken(USER, SECRET, 60).token;
    const byQuery = await gw.app.inject({ method: 'GET', url: `/api/v1/users/me?token=${token}` });
    expect([byQuery.statusCode, single(byQuery.body).code]).toEqual([401, ERRORS.AUTH_REQUIRED.code]);
    expect(gw.backendCalls()).toBe(0);

    // A token issued by login is signed with the configured secret, and dies at logout.
    const login = await gw.app.inject({
      method: 'POST',
      url: '/api/v1/login',
      payload: { username: 'alice', password: 'correct horse' },
    });
    const issued = single(login.body).token as string;
    const auth = { authorization: `Bearer ${issued}` };
    expect((await gw.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: auth })).statusCode).toBe(
      200,
    );
    expect((await gw.app.inject({ method: 'POST', url: '/api/v1/logout', headers: auth })).statusCode).toBe(
      200,
    );
    const after = await gw.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: auth });
    expect([after.statusCode, single(after.body).code]).toEqual([401, ERRORS.AUTH_TOKEN_INVALID.code]);
  });

  it('defect 3: profiles and online state need a token; there is no cpu-burn route', async () => {
    const gw = await gateway();
    for (const url of [
      `/api/v1/users/${USER}`,
      `/api/v1/users/${USER}/online`,
      '/api/v1/users/alice/online',
    ]) {
      const res = await gw.app.inject({ method: 'GET', url });
      expect([url, res.statusCode, single(res.body).code]).toEqual([url, 401, ERRORS.AUTH_REQUIRED.code]);
    }
    const token = signToken(USER, SECRET, 60).token;
    for (const url of ['/api/v1/debug/cpu-burn?seconds=10&workers=0', '/debug/pprof/profile?seconds=1']) {
      const res = await gw.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      expect([url, res.statusCode, single(res.body).code]).toEqual([url, 404, ERRORS.ROUTE_NOT_FOUND.code]);
    }
    expect(gw.backendCalls()).toBe(0);
  });
});

describe('login and register rate limits (inject)', () => {
  /** A limit that never refills within a test: exactly `burst` requests pass. */
  const limited = { authRateLimitPerSecond: 0.0001, authRateLimitBurst: 3 };
  type Gw = Awaited<ReturnType<typeof gateway>>;
  const register = (gw: Gw, ip: string, username: string) =>
    gw.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      remoteAddress: ip,
      payload: { username, password: 'correct horse' },
    });
  const login = (gw: Gw, ip: string, username: string) =>
    gw.app.inject({
      method: 'POST',
      url: '/api/v1/login',
      remoteAddress: ip,
      payload: { username, password: 'correct horse' },
    });
  const statuses = async (responses: Promise<{ statusCode: number }>[]) =>
    (await Promise.all(responses)).map((r) => r.statusCode);
  const limitedCount = (gw: Gw, route: string) =>
    counterValue(gw.metrics, 'chatim_rate_limited_total', { route });

  it('answers 429 RATE_LIMITED per client IP after the burst, before any backend call; other routes are unaffected', async () => {
    const gw = await gateway(limited);
    const ip = '203.0.113.7';
    const regs = [];
    for (const n of [1, 2, 3, 4]) regs.push((await register(gw, ip, `reg_${n}`)).statusCode);
    expect(regs).toEqual([200, 200, 200, 429]);
    const logins = [];
    for (const n of [1, 2, 3, 4]) logins.push((await login(gw, ip, `log_${n}`)).statusCode);
    expect(logins).toEqual([200, 200, 200, 429]); // distinct usernames: the per-IP bucket decides
    const refused = await register(gw, ip, 'reg_5');
    expect([refused.statusCode, single(refused.body)]).toEqual([
      429,
      { code: ERRORS.RATE_LIMITED.code, error: 'RATE_LIMITED', message: ERRORS.RATE_LIMITED.message },
    ]);
    expect(gw.users.calls.length).toBe(6); // scrypt never ran for a refused request
    expect(await limitedCount(gw, '/api/v1/users')).toBe(2);
    expect(await limitedCount(gw, '/api/v1/login')).toBe(1);
    // Another address has its own buckets.
    expect(
      await statuses([register(gw, '198.51.100.1', 'reg_6'), login(gw, '198.51.100.1', 'log_6')]),
    ).toEqual([200, 200]);
    // Everything else from the limited address still works.
    const headers = { authorization: `Bearer ${signToken(USER, SECRET, 60).token}` };
    for (const [method, url] of [
      ['GET', '/api/v1/users/me'],
      ['GET', `/api/v1/users/${USER}`],
      ['GET', '/api/v1/openapi.json'],
      ['GET', '/healthz'],
    ] as const) {
      const res = await gw.app.inject({ method, url, headers, remoteAddress: ip });
      expect([url, res.statusCode]).toEqual([url, 200]);
    }
    expect(
      (await gw.app.inject({ method: 'POST', url: '/api/v1/logout', headers, remoteAddress: ip })).statusCode,
    ).toBe(200);
  });

  it('limits login per username whatever the client IP, and leaves other usernames alone', async () => {
    const gw = await gateway(limited);
    const guesses = [];
    for (const n of [1, 2, 3, 4, 5]) guesses.push((await login(gw, `192.0.2.${n}`, 'victim')).statusCode);
    expect(guesses).toEqual([200, 200, 200, 429, 429]); // a new address per guess does not help
    expect(await limitedCount(gw, '/api/v1/login')).toBe(2);
    expect((await login(gw, '192.0.2.5', 'someone_else')).statusCode).toBe(200);
    expect((await register(gw, '192.0.2.5', 'newcomer')).statusCode).toBe(200);
    expect(gw.users.calls.length).toBe(5);
  });

  it('is off at rate 0', async () => {
    const gw = await gateway({ authRateLimitPerSecond: 0, authRateLimitBurst: 1 });
    expect(await statuses([1, 2, 3].map(() => login(gw, '203.0.113.9', 'same')))).toEqual([200, 200, 200]);
  });
});
