/**
 * gateway: the public edge. Authenticates (HS256 JWT from the Authorization header; `?token=` only
 * on /ws), validates every request against the route table's schema, forwards to user-service or
 * message-service over keep-alive HTTP with the user id in a header, serves the WebSocket push
 * and the OpenAPI document.
 */
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { API_PREFIX, ROUTES, route, USER_HEADER } from '../kit/api.ts';
import { createApp, type LogStream } from '../kit/app.ts';
import { ApiError } from '../kit/errors.ts';
import type { Faults } from '../kit/faults.ts';
import type { InternalClient } from '../kit/http-client.ts';
import { KEYS } from '../kit/keys.ts';
import { counterChildren, type Metrics } from '../kit/metrics.ts';
import type { RedisMetrics } from '../kit/redis.ts';
import { type Claims, signToken, verifyToken } from './jwt.ts';
import { openApiDocument } from './openapi.ts';
import { WsHub } from './ws-hub.ts';

export interface GatewayDeps {
  readonly metrics: Metrics;
  readonly faults?: Faults;
  readonly redis: Redis;
  /** A connection of its own for SUBSCRIBE. */
  readonly subscriber: Redis;
  readonly redisMetrics: RedisMetrics;
  readonly userService: InternalClient;
  readonly messageService: InternalClient;
  readonly jwtSecret: string;
  readonly jwtTtlSeconds: number;
  readonly wsAllowedOrigins: readonly string[];
  readonly wsPingIntervalMs: number;
  readonly wsMaxBufferedBytes: number;
  readonly wsMaxSocketsPerUser: number;
  readonly rateLimitPerSecond: number;
  readonly rateLimitBurst: number;
  /** Login and register per client IP, login per username: each of those requests runs scrypt. */
  readonly authRateLimitPerSecond: number;
  readonly authRateLimitBurst: number;
  readonly logLevel?: string;
  /** Where log lines go (default stdout). */
  readonly logStream?: LogStream;
}

declare module 'fastify' {
  interface FastifyRequest {
    claims?: Claims;
  }
}

/** Token buckets by key (per user, per IP, per username): this gateway's share of the limit. */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string): boolean {
    if (this.perSecond <= 0) return true;
    const now = this.now();
    const b = this.#buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (this.#buckets.size > 100_000) this.#buckets.clear(); // bounded memory; a reset only forgives
    this.#buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

export function buildApp(deps: GatewayDeps): FastifyInstance {
  const { redis, redisMetrics: rm } = deps;
  const hub = new WsHub({
    metrics: deps.metrics,
    faults: deps.faults,
    redis,
    redisMetrics: rm,
    pingIntervalMs: deps.wsPingIntervalMs,
    maxBufferedBytes: deps.wsMaxBufferedBytes,
    maxSocketsPerUser: deps.wsMaxSocketsPerUser,
  });
  let subscribed = false;
  const app = createApp({
    metrics: deps.metrics,
    faults: deps.faults,
    logLevel: deps.logLevel,
    logStream: deps.logStream,
    ready: async () => {
      await rm.timed('ping', () => redis.ping());
      if (!subscribed || deps.subscriber.status !== 'ready')
        throw new Error('not subscribed to push notifications');
    },
  });
  const authFailures = counterChildren(deps.metrics.get('chatim_auth_failures_total'), ['reason']);
  const rateLimited = counterChildren(deps.metrics.get('chatim_rate_limited_total'), ['route']);
  const limiter = new RateLimiter(deps.rateLimitPerSecond, deps.rateLimitBurst);
  // Register and login each run scrypt on the libuv pool: unlimited, they are cheap CPU exhaustion
  // and unbounded password guessing. Buckets per client IP (per route), and per username on login
  // so that spreading guesses over addresses does not help. Two limiters: a flood of usernames
  // (which resets its limiter when it grows too large) cannot reset the per-IP buckets.
  const authByIp = new RateLimiter(deps.authRateLimitPerSecond, deps.authRateLimitBurst);
  const authByUsername = new RateLimiter(deps.authRateLimitPerSecond, deps.authRateLimitBurst);
  const loginUrl = `${API_PREFIX}/login`;
  function limitAuth(route: string, allowed: boolean): void {
    if (allowed) return;
    rateLimited.get(route).inc();
    throw new ApiError('RATE_LIMITED');
  }
  const limitAuthByIp = async (request: FastifyRequest) => {
    const route = request.routeOptions.url ?? '';
    limitAuth(route, authByIp.take(`${route}|${request.ip}`));
  };

  const onMessage = (_channel: string, payload: string) => hub.deliver(payload);
  app.addHook('onReady', async () => {
    deps.subscriber.on('message', onMessage);
    await rm.timed('subscribe', () => deps.subscriber.subscribe(KEYS.notifications));
    subscribed = true;
    hub.start();
  });
  app.addHook('onClose', async () => {
    deps.subscriber.off('message', onMessage);
    subscribed = false;
  });

  /** Verifies a token (signature, expiry, revocation); throws 401 with the reason counted. */
  async function authenticate(token: string): Promise<Claims> {
    const v = verifyToken(token, deps.jwtSecret);
    if (!v.ok) {
      authFailures.get(v.reason).inc();
      throw new ApiError('AUTH_TOKEN_INVALID');
    }
    const revoked = await rm.timed('revoked_check', () => redis.exists(KEYS.revoked(v.claims.jti)));
    if (revoked === 1) {
      authFailures.get('revoked').inc();
      throw new ApiError('AUTH_TOKEN_INVALID');
    }
    return v.claims;
  }

  /** REST auth: the Authorization header only (a token in a URL leaks into logs; defect 2). Aborts on failure (defect 1). */
  async function requireAuth(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      authFailures.get('missing').inc();
      throw new ApiError('AUTH_REQUIRED');
    }
    const m = /^Bearer ([^\s]+)$/.exec(header);
    if (!m?.[1]) {
      authFailures.get('malformed').inc();
      throw new ApiError('AUTH_HEADER_MALFORMED');
    }
    request.claims = await authenticate(m[1]);
  }

  const clients = { 'user-service': deps.userService, 'message-service': deps.messageService } as const;

  for (const spec of ROUTES) {
    if (spec.service === 'gateway') continue;
    const url = `${API_PREFIX}${spec.path}`;
    const client = clients[spec.service];
    app.route({
      method: spec.method,
      url,
      schema: spec.schema,
      ...(spec.auth ? { onRequest: requireAuth } : {}),
      ...(spec.method === 'POST' && spec.path === '/users' ? { onRequest: limitAuthByIp } : {}),
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const userId = request.claims?.user_id;
        if (spec.rateLimited && userId && !limiter.take(userId)) {
          rateLimited.get(url).inc();
          throw new ApiError('RATE_LIMITED');
        }
        const res = await client.call({
          route: url,
          method: spec.method,
          path: request.url,
          ...(spec.schema.body ? { body: request.body } : {}),
          ...(userId ? { headers: { [USER_HEADER]: userId } } : {}),
        });
        return reply.code(res.status).type('application/json; charset=utf-8').send(res.text);
      },
    });
  }

  app.post<{ Body: { username: string; password: string } }>(
    loginUrl,
    { schema: route('POST', '/login').schema, onRequest: limitAuthByIp },
    async (request, reply) => {
      limitAuth(loginUrl, authByUsername.take(request.body.username));
      const res = await deps.userService.call({
        route: '/internal/login',
        method: 'POST',
        path: '/internal/login',
        body: request.body,
      });
      if (res.status !== 200)
        return reply.code(res.status).type('application/json; charset=utf-8').send(res.text);
      const { user_id } = JSON.parse(res.text) as { user_id: string };
      const { token, claims } = signToken(user_id, deps.jwtSecret, deps.jwtTtlSeconds);
      return { code: 0, message: '登录成功', token, user_id, expires_at: claims.exp };
    },
  );

  app.post(`${API_PREFIX}/logout`, { onRequest: requireAuth }, async (request) => {
    const claims = request.claims!;
    const ttl = Math.max(1, claims.exp - Math.floor(Date.now() / 1000));
    await rm.timed('revoke', () => redis.set(KEYS.revoked(claims.jti), '1', 'EX', ttl));
    hub.closeToken(claims.user_id, claims.jti);
    return { code: 0, message: 'Logged out successfully' };
  });

  const doc = openApiDocument();
  app.get(`${API_PREFIX}/openapi.json`, async () => doc);

  // --- WebSocket -------------------------------------------------------------------------------
  void app.register(websocket, {
    options: { maxPayload: 64 * 1024, perMessageDeflate: false },
    preClose(done) {
      hub.closeAll();
      this.websocketServer.close();
      done();
    },
  });
  void app.register(async (scope) => {
    scope.get<{ Querystring: { token?: string } }>(
      '/ws',
      {
        websocket: true,
        schema: {
          querystring: { type: 'object', properties: { token: { type: 'string', maxLength: 4096 } } },
        },
        onRequest: async (request) => {
          const origin = request.headers.origin;
          if (origin !== undefined && !deps.wsAllowedOrigins.includes(origin))
            throw new ApiError('ORIGIN_NOT_ALLOWED');
          const header = request.headers.authorization;
          if (header) {
            await requireAuth(request);
            return;
          }
          const token = (request.query as { token?: string }).token;
          if (!token) {
            authFailures.get('missing').inc();
            throw new ApiError('AUTH_REQUIRED');
          }
          request.claims = await authenticate(token);
        },
      },
      (socket, request) => {
        const c = request.claims!;
        hub.add(socket, c.user_id, c.jti, c.exp * 1000);
      },
    );
  });

  return app;
}
