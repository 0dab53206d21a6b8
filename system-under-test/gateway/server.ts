import { randomBytes } from 'node:crypto';
import { InternalClient } from '../kit/http-client.ts';
import { createRedis, RedisMetrics } from '../kit/redis.ts';
import { serve } from '../kit/serve.ts';
import { buildApp } from './app.ts';

await serve('gateway', async (config, { metrics, faults }) => {
  const redisMetrics = new RedisMetrics(metrics);
  const redis = redisMetrics.track(createRedis(config.redisUrl, 'command'), 'command');
  const subscriber = redisMetrics.track(createRedis(config.redisUrl, 'subscriber'), 'subscriber');
  const userService = new InternalClient('user-service', config.userServiceUrl, metrics);
  const messageService = new InternalClient('message-service', config.messageServiceUrl, metrics);
  // Outside production a missing secret means a random one per process (tokens die with it);
  // config validation already refused production without one. Never a hard-coded secret (defect 2).
  const jwtSecret = config.jwtSecret ?? randomBytes(32).toString('base64url');
  const app = buildApp({
    metrics,
    faults,
    redis,
    subscriber,
    redisMetrics,
    userService,
    messageService,
    jwtSecret,
    jwtTtlSeconds: config.jwtTtlSeconds,
    wsAllowedOrigins: config.wsAllowedOrigins,
    wsPingIntervalMs: config.wsPingIntervalMs,
    wsMaxBufferedBytes: config.wsMaxBufferedBytes,
    wsMaxSocketsPerUser: config.wsMaxSocketsPerUser,
    rateLimitPerSecond: config.rateLimitPerSecond,
    rateLimitBurst: config.rateLimitBurst,
    authRateLimitPerSecond: config.authRateLimitPerSecond,
    authRateLimitBurst: config.authRateLimitBurst,
    logLevel: config.logLevel,
  });
  if (config.jwtSecret === undefined)
    app.log.warn('CHATIM_JWT_SECRET not set: using a random per-process secret');
  return {
    app,
    async stop() {
      userService.close();
      messageService.close();
      await subscriber.quit().catch(() => subscriber.disconnect());
      await redis.quit().catch(() => redis.disconnect());
    },
  };
});
