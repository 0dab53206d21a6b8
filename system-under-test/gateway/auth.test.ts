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
import { FakeRedis } from '../test-support.ts';
import { buildApp } from './app.ts';
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

async function gateway() {
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
    jwtTtlSeconds: 3600,
    wsAllowedOrigins: [],
    wsPingIntervalMs: 60_000,
    wsMaxBufferedBytes: 1 << 20,
    wsMaxSocketsPerUser: 10,
    rateLimitPerSecond: 0,
    rateLimitBurst: 1,
  });
  apps.push(app);
  await app.ready();
  const backendCalls = () => users.calls.length + messages.calls.length;
  return { app, users, messages, backendCalls };
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
