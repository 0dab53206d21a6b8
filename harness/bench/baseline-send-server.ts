/**
 * The floor for `npm run bench:send`: the least a send endpoint can do with the same stack — fastify,
 * one keep-alive Redis connection (through the same Toxiproxy link), the recipient inbox and the sender
 * copy written with one pipelined round trip, MAXLEN retention — and nothing else: no auth, no
 * validation beyond JSON parsing, no metrics, no second hop. The gateway's cost is measured against it.
 */
import Fastify from 'fastify';
import { Redis } from 'ioredis';

const port = Number(process.env.BASELINE_PORT ?? 0);
const redis = new Redis(process.env.BASELINE_REDIS_URL ?? 'redis://127.0.0.1:6379'); // ioredis 5: RESP2
const app = Fastify({ logger: false });
let seq = 0;

app.post('/send', async (request) => {
  const body = request.body as { to_user_id: string; content: string };
  const id = `${process.pid}-${++seq}`;
  const fields = ['id', id, 'to', body.to_user_id, 'content', body.content, 'created_at', String(Date.now())];
  const results = await redis
    .pipeline()
    .xadd(`baseline:inbox:${body.to_user_id}`, 'MAXLEN', '~', '10000', '*', ...fields)
    .xadd('baseline:sent', 'MAXLEN', '~', '10000', '*', ...fields)
    .exec();
  for (const [err] of results ?? []) if (err) throw err;
  return { code: 0, msg: { id } };
});

await app.listen({ host: '127.0.0.1', port });
process.stdout.write(`listening ${(app.server.address() as { port: number }).port}\n`);
const stop = async () => {
  await app.close();
  await redis.quit();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
