/** Pure-logic tests of the shared kit: config, the app factory (via inject), faults, metrics. */
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../../harness/stack/wait.ts';
import { createApp, DependencyError, NOT_FOUND_ROUTE } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { ApiError, ERRORS } from './errors.ts';
import { Faults } from './faults.ts';
import { Metrics } from './metrics.ts';

const base = { CHATIM_REDIS_URL: 'redis://127.0.0.1:6379' };

describe('loadConfig', () => {
  it('applies defaults and parses values', () => {
    const c = loadConfig('message-service', {
      ...base,
      CHATIM_POSTGRES_URL: 'postgresql://u:p@127.0.0.1/db',
      CHATIM_STREAM_MAXLEN: '500',
    });
    expect(c).toMatchObject({ streamMaxLen: 500, persistWorker: true, port: 0, debug: undefined });
  });

  it('lists every invalid variable in one error', () => {
    let err: unknown;
    try {
      loadConfig('gateway', {
        CHATIM_REDIS_URL: 'http://nope',
        CHATIM_PORT: '99999',
        CHATIM_WS_PING_INTERVAL_MS: 'soon',
        CHATIM_TYPO: '1',
        CHATIM_DEBUG_PORT: '7000',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    for (const name of [
      'CHATIM_REDIS_URL',
      'CHATIM_PORT',
      'CHATIM_WS_PING_INTERVAL_MS',
      'CHATIM_TYPO',
      'CHATIM_USER_SERVICE_URL',
      'CHATIM_MESSAGE_SERVICE_URL',
      'CHATIM_DEBUG_TOKEN',
    ]) {
      expect(problems).toContain(name);
    }
  });

  it('refuses production without a JWT secret, and a short secret anywhere', () => {
    const gw = {
      ...base,
      CHATIM_USER_SERVICE_URL: 'http://127.0.0.1:1',
      CHATIM_MESSAGE_SERVICE_URL: 'http://127.0.0.1:2',
    };
    expect(() => loadConfig('gateway', { ...gw, CHATIM_ENV: 'production' })).toThrow(
      /CHATIM_JWT_SECRET is required/,
    );
    expect(() => loadConfig('gateway', { ...gw, CHATIM_JWT_SECRET: 'short' })).toThrow(/at least 32/);
    expect(
      loadConfig('gateway', { ...gw, CHATIM_ENV: 'production', CHATIM_JWT_SECRET: 'x'.repeat(32) }).jwtSecret,
    ).toBe('x'.repeat(32));
  });
});

function appWithRoutes() {
  const metrics = new Metrics('user-service');
  const faults = new Faults(metrics, { random: () => 0 });
  const app = createApp({ metrics, faults });
  app.post(
    '/things/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        body: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 5 } } },
      },
    },
    async () => ({ code: 0 }),
  );
  app.get('/boom', async () => {
    throw new Error('secret internal detail');
  });
  app.get('/redis', async () => {
    throw new DependencyError('redis', new Error('ECONNREFUSED'));
  });
  app.get('/forbidden', async () => {
    throw new ApiError('NOT_GROUP_MEMBER');
  });
  return { app, metrics, faults };
}

describe('createApp', () => {
  it('maps every failure to the catalogue and never leaks internals', async () => {
    const { app } = appWithRoutes();
    const cases = [
      {
        method: 'POST',
        url: '/things/1',
        payload: { name: 7 },
        status: 400,
        code: ERRORS.VALIDATION_FAILED.code,
      },
      {
        method: 'POST',
        url: '/things/abc',
        payload: { name: 'a' },
        status: 400,
        code: ERRORS.VALIDATION_FAILED.code,
      },
      {
        method: 'POST',
        url: '/things/1',
        payload: { name: 'toolong' },
        status: 400,
        code: ERRORS.VALIDATION_FAILED.code,
      },
      {
        method: 'POST',
        url: '/things/1',
        payload: '{"name":',
        status: 400,
        code: ERRORS.MALFORMED_JSON.code,
      },
      { method: 'GET', url: '/boom', status: 500, code: ERRORS.INTERNAL.code },
      { method: 'GET', url: '/redis', status: 503, code: ERRORS.DEPENDENCY_UNAVAILABLE.code },
      { method: 'GET', url: '/forbidden', status: 403, code: ERRORS.NOT_GROUP_MEMBER.code },
      { method: 'GET', url: '/nope', status: 404, code: ERRORS.ROUTE_NOT_FOUND.code },
    ] as const;
    for (const c of cases) {
      const res = await app.inject({
        method: c.method,
        url: c.url,
        ...('payload' in c ? { payload: c.payload, headers: { 'content-type': 'application/json' } } : {}),
      });
      expect({ url: c.url, status: res.statusCode, code: res.json().code }).toEqual({
        url: c.url,
        status: c.status,
        code: c.code,
      });
      expect(res.body).not.toContain('secret internal detail');
      expect(res.body).not.toContain('ECONNREFUSED');
    }
    const big = await app.inject({
      method: 'POST',
      url: '/things/1',
      payload: JSON.stringify({ name: 'x'.repeat(100_000) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe(ERRORS.BODY_TOO_LARGE.code);
  });

  it('labels requests by route template, all 404s under one label', async () => {
    const { app, metrics } = appWithRoutes();
    for (const id of ['1', '2', '3']) {
      await app.inject({ method: 'POST', url: `/things/${id}`, payload: { name: 'a' } });
    }
    for (const p of ['/a', '/b/c', '/users/123']) await app.inject({ method: 'GET', url: p });
    const text = await metrics.registry.metrics();
    expect(text).toContain('chatim_http_requests_total{method="POST",route="/things/:id",status="200"} 3');
    expect(text).toContain(
      `chatim_http_requests_total{method="GET",route="${NOT_FOUND_ROUTE}",status="404"} 3`,
    );
    expect(text).not.toContain('/users/123');
  });

  it('logs request paths without the query string, so a ?token= never reaches the log', async () => {
    const lines: string[] = [];
    const app = createApp({
      metrics: new Metrics('user-service'),
      logLevel: 'info',
      logStream: { write: (line) => lines.push(line) },
    });
    app.get('/things/:id', async () => ({ code: 0 }));
    const secret = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2lnbmF0dXJl';
    await app.inject({ method: 'GET', url: `/things/7?token=${secret}&keyword=private` });
    await app.inject({ method: 'GET', url: `/nowhere?token=${secret}` });
    await waitUntil(async () => lines.filter((l) => l.includes('request completed')).length === 2, {
      what: 'both requests logged',
      timeoutMs: 10_000,
    });
    const urls = lines
      .map((l) => JSON.parse(l) as { req?: { url?: string } })
      .flatMap((l) => l.req?.url ?? []);
    expect(urls).toEqual(['/things/7', '/nowhere']); // the path is still there
    expect(lines.join('\n')).not.toContain(secret);
    expect(lines.join('\n')).not.toContain('keyword=private');
    await app.close();
  });

  it('applies the error fault only to matching routes, and clears it', async () => {
    const { app, faults } = appWithRoutes();
    faults.set('error', { rate: 1, status: 502, route: '/things' }, 60);
    expect((await app.inject({ method: 'POST', url: '/things/1', payload: { name: 'a' } })).statusCode).toBe(
      502,
    );
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    faults.clear('error');
    expect((await app.inject({ method: 'POST', url: '/things/1', payload: { name: 'a' } })).statusCode).toBe(
      200,
    );
  });
});

describe('Faults', () => {
  it('refuses faults without a time limit within bounds, and reports what is on', async () => {
    const metrics = new Metrics('gateway');
    const faults = new Faults(metrics, { random: () => 0.5 });
    expect(() => faults.set('push_drop', { rate: 1 }, 0)).toThrow(ApiError);
    expect(() => faults.set('push_drop', { rate: 1 }, 4000)).toThrow(ApiError);
    faults.set('push_drop', { rate: 0.4 }, 10);
    expect(faults.dropPush()).toBe(false); // 0.5 ≥ 0.4
    faults.set('push_drop', { rate: 0.6 }, 10);
    expect(faults.dropPush()).toBe(true);
    expect(Object.keys(faults.list())).toEqual(['push_drop']);
    expect(await metrics.registry.getSingleMetricAsString('chatim_fault_active')).toContain(
      'chatim_fault_active{fault="push_drop"} 1',
    );
    faults.clear();
    expect(faults.anyActive).toBe(false);
    expect(faults.dropPush()).toBe(false);
  });

  it('a handle leak adds real handles (listening sockets) and gives them back on clear', async () => {
    const faults = new Faults(new Metrics('gateway'));
    const servers = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    const before = servers();
    faults.set('handle_leak', { perSecond: 1000, cap: 5 }, 60);
    await waitUntil(async () => servers() >= before + 5, { what: '5 leaked handles', timeoutMs: 30_000 });
    faults.clear();
    await waitUntil(async () => servers() === before, { what: 'the handles closed', timeoutMs: 30_000 });
    expect(servers()).toBe(before);
  });
});
