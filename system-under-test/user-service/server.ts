import { Db, migrate } from '../kit/db.ts';
import { createRedis, RedisMetrics } from '../kit/redis.ts';
import { serve } from '../kit/serve.ts';
import { buildApp } from './app.ts';
import { USER_MIGRATIONS } from './migrations.ts';

await serve('user-service', async (config, { metrics, faults }) => {
  const db = new Db(config.postgresUrl, config.postgresPoolMax, metrics);
  await migrate(db, 'user-service', USER_MIGRATIONS);
  const redisMetrics = new RedisMetrics(metrics);
  const redis = redisMetrics.track(createRedis(config.redisUrl, 'command'), 'command');
  const app = buildApp({
    metrics,
    faults,
    db,
    redis,
    redisMetrics,
    passwordHashCost: config.passwordHashCost,
    groupMaxMembers: config.groupMaxMembers,
    logLevel: config.logLevel,
  });
  return {
    app,
    async stop() {
      await redis.quit().catch(() => redis.disconnect());
      await db.close();
    },
  };
});
