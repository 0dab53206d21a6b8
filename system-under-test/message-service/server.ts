import { Db, migrate } from '../kit/db.ts';
import { createRedis, RedisMetrics } from '../kit/redis.ts';
import { serve } from '../kit/serve.ts';
import { buildApp } from './app.ts';
import { MESSAGE_MIGRATIONS } from './migrations.ts';
import { PersistWorker } from './persist-worker.ts';

await serve('message-service', async (config, { metrics, faults }) => {
  const db = new Db(config.postgresUrl, config.postgresPoolMax, metrics);
  await migrate(db, 'message-service', MESSAGE_MIGRATIONS);
  const redisMetrics = new RedisMetrics(metrics);
  const redis = redisMetrics.track(createRedis(config.redisUrl, 'command'), 'command');
  let worker: PersistWorker | undefined;
  const app = buildApp({
    metrics,
    faults,
    db,
    redis,
    redisMetrics,
    streamMaxLen: config.streamMaxLen,
    groupMaxMembers: config.groupMaxMembers,
    logLevel: config.logLevel,
    ...(config.persistWorker ? { workerReady: () => worker?.running === true } : {}),
  });
  let workerRedis: ReturnType<typeof createRedis> | undefined;
  if (config.persistWorker) {
    workerRedis = redisMetrics.track(createRedis(config.redisUrl, 'worker'), 'worker');
    worker = new PersistWorker({
      db,
      redis: workerRedis,
      redisMetrics,
      metrics,
      batch: config.persistBatch,
      reclaimIdleMs: config.persistReclaimIdleMs,
      log: (msg, err) => app.log.warn({ err }, msg),
    });
    await worker.start();
  }
  return {
    app,
    async stop() {
      await worker?.stop();
      await workerRedis?.quit().catch(() => workerRedis?.disconnect());
      await redis.quit().catch(() => redis.disconnect());
      await db.close();
    },
  };
});
