/**
 * The persist worker on the real stack (Redis and PostgreSQL through Toxiproxy): entries a dead
 * consumer left pending are reclaimed and written exactly once; message-service killed mid-outage
 * loses nothing; SIGTERM stops taking requests, drains the worker (written or left pending, never
 * lost) and exits by itself. One stack for the whole file.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeStackRuntime } from '../../harness/stack/native/runtime.ts';
import { fullStackComponents } from '../../harness/stack/native/sut-components.ts';
import type { StartedStack } from '../../harness/stack/types.ts';
import { waitUntil } from '../../harness/stack/wait.ts';
import { Db, migrate } from '../kit/db.ts';
import { KEYS } from '../kit/keys.ts';
import { Metrics } from '../kit/metrics.ts';
import { RedisMetrics } from '../kit/redis.ts';
import { apiHelpers, counterValue, DEADLINE, metricsText, sampleValue, type User } from '../test-support.ts';
import { USER_MIGRATIONS } from '../user-service/migrations.ts';
import { MESSAGE_MIGRATIONS } from './migrations.ts';
import { PersistWorker } from './persist-worker.ts';

const SERVICE = 'message-service';
const RECLAIM_IDLE_MS = 500;

let stack: StartedStack;
let gw: string;
let db: Db;
/** The services' Redis database (0), for looking at the persist stream's consumer group. */
let redis: Redis;

const { ok, newUser, befriend } = apiHelpers(() => gw);

async function toxiproxy(path: string, method: string, body?: unknown): Promise<void> {
  const res = await fetch(`${stack.endpoints.toxiproxy.url}${path}`, {
    method,
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: ${res.status}`);
}
const postgresReachable = (enabled: boolean) => toxiproxy('/proxies/postgres', 'POST', { enabled });

/** How many of `ids` are rows of the messages table (the primary key makes each at most one). */
async function rowsFor(ids: string[]): Promise<number> {
  const r = await db.query(
    'select',
    'messages',
    'SELECT count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[])',
    [ids],
  );
  return (r.rows[0] as { n: number }).n;
}

/** Entries of the persist stream delivered to a consumer and not yet acknowledged. */
async function pendingIds(client: Redis): Promise<string[]> {
  const rows = (await client.xpending(KEYS.persistStream, KEYS.persistGroup, '-', '+', 10_000)) as [
    string,
    string,
    number,
    number,
  ][];
  return rows.map(([id]) => id);
}

/** The `id` field (message id) of each stream entry. */
function messageIds(entries: [string, string[]][]): string[] {
  return entries.map(([, fields]) => fields[fields.indexOf('id') + 1] ?? '');
}

/** Message ids of the persist stream's entries: all of them (written or not), or only those delivered and unacknowledged. */
async function streamMessageIds(client: Redis, only?: 'pending'): Promise<string[]> {
  if (only !== 'pending') return messageIds(await client.xrange(KEYS.persistStream, '-', '+'));
  const out: string[] = [];
  for (const sid of await pendingIds(client))
    out.push(...messageIds(await client.xrange(KEYS.persistStream, sid, sid)));
  return out;
}

const among = (ids: string[]) => (list: string[]) => list.filter((id) => ids.includes(id)).length;

async function sendMany(from: User, to: User, n: number, label: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++)
    ids.push(
      (
        await ok('POST', '/api/v1/messages/send', {
          token: from.token,
          body: { to_user_id: to.id, content: `${label} ${i}` },
        })
      ).msg.id,
    );
  return ids;
}

const serviceMetric = async (name: string, labels: Record<string, string>) =>
  sampleValue(await metricsText(stack, SERVICE), name, labels);

beforeAll(async () => {
  stack = await new NativeStackRuntime(() =>
    fullStackComponents({
      env: { [SERVICE]: { CHATIM_PERSIST_RECLAIM_IDLE_MS: String(RECLAIM_IDLE_MS) } },
    }),
  ).start({ readyTimeoutMs: 60_000 });
  gw = `http://127.0.0.1:${stack.component('gateway').ports.main}`;
  db = new Db(stack.endpoints.postgres.url, 2, new Metrics(SERVICE));
  redis = new Redis(stack.endpoints.redis.url, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  redis?.disconnect();
  await db?.close();
  await stack?.stop();
});

describe('persist worker', () => {
  it('takes over what a dead consumer left pending and writes each message exactly once', async () => {
    // Its own Redis database: the message-service's worker (database 0) must not race this one.
    const own = new Redis(`${stack.endpoints.redis.url}/1`, { maxRetriesPerRequest: 1 });
    const metrics = new Metrics(SERVICE);
    const from = randomUUID();
    const to = randomUUID();
    const ids = Array.from({ length: 10 }, () => randomUUID());
    try {
      await own.xgroup('CREATE', KEYS.persistStream, KEYS.persistGroup, '0', 'MKSTREAM');
      for (const [seq, id] of ids.entries()) {
        await own.xadd(
          KEYS.persistStream,
          '*',
          ...['id', id, 'type', 'private', 'from_user_id', from, 'to_user_id', to, 'group_id', ''],
          ...['content', `m${seq}`, 'created_at', String(Date.now()), 'seq', String(seq + 1)],
          ...['conversation_key', `private:${from}:${to}`],
        );
      }
      // A consumer reads every entry and dies. It had committed the first four to PostgreSQL
      // but not acknowledged them (the crash window the idempotent insert is for).
      await own.xreadgroup(
        'GROUP',
        KEYS.persistGroup,
        'dead',
        'COUNT',
        100,
        'STREAMS',
        KEYS.persistStream,
        '>',
      );
      expect(await pendingIds(own)).toHaveLength(10);
      await db.query(
        'insert',
        'messages',
        `INSERT INTO messages (id, conversation_key, seq, type, from_user_id, to_user_id, content, created_at_ms)
         SELECT id, $2, 0, 'private', $3, $4, 'pre-crash', 0 FROM unnest($1::uuid[]) AS id`,
        [ids.slice(0, 4), `private:${from}:${to}`, from, to],
      );

      const worker = new PersistWorker({
        db,
        redis: own,
        redisMetrics: new RedisMetrics(metrics),
        metrics,
        batch: 3, // several claim rounds
        reclaimIdleMs: 100,
        blockMs: 100,
        consumer: 'survivor',
      });
      await worker.start();
      try {
        await waitUntil(
          async () => (await own.xlen(KEYS.persistStream)) === 0 && (await pendingIds(own)).length === 0,
          {
            what: 'the dead consumer’s entries written and acknowledged',
            timeoutMs: DEADLINE,
          },
        );
      } finally {
        await worker.stop();
      }
      expect(await rowsFor(ids)).toBe(10);
      const outcome = (status: string) => counterValue(metrics, 'chatim_persist_messages_total', { status });
      expect({
        reclaimed: await outcome('reclaimed'),
        persisted: await outcome('persisted'),
        duplicate: await outcome('duplicate'),
        failed: await outcome('failed'),
      }).toEqual({ reclaimed: 10, persisted: 6, duplicate: 4, failed: 0 });
    } finally {
      own.disconnect();
    }
  });

  it('counts as reclaimed only entries taken from another consumer, not its own retries', async () => {
    const own = new Redis(`${stack.endpoints.redis.url}/2`, { maxRetriesPerRequest: 1 });
    const metrics = new Metrics(SERVICE);
    const outcome = (status: string) => counterValue(metrics, 'chatim_persist_messages_total', { status });
    const worker = new PersistWorker({
      db,
      redis: own,
      redisMetrics: new RedisMetrics(metrics),
      metrics,
      batch: 10,
      reclaimIdleMs: 100,
      blockMs: 100,
      consumer: 'only',
    });
    const ids = Array.from({ length: 3 }, () => randomUUID());
    try {
      await worker.start();
      await postgresReachable(false);
      try {
        for (const id of ids) {
          const u = randomUUID();
          await own.xadd(
            KEYS.persistStream,
            '*',
            ...['id', id, 'type', 'private', 'from_user_id', u, 'to_user_id', u, 'group_id', ''],
            ...[
              'content',
              'x',
              'created_at',
              String(Date.now()),
              'seq',
              '1',
              'conversation_key',
              `private:${u}:${u}`,
            ],
          );
        }
        // Its own entries fail, wait past the reclaim idle time, and are retried several times. The
        // worker may hold one entry or all three per attempt, and retries back off (100 ms doubling
        // to 5 s), so count attempts, not entries × attempts: 4 failures are ≥ 2 retries either way.
        await waitUntil(async () => (await outcome('failed')) >= 4, {
          what: 'several failed attempts while PostgreSQL is unreachable',
          timeoutMs: DEADLINE,
        });
      } finally {
        await postgresReachable(true);
      }
      await waitUntil(async () => (await rowsFor(ids)) === ids.length, {
        what: 'the entries in PostgreSQL once it is back',
        timeoutMs: DEADLINE,
      });
      expect(await outcome('reclaimed')).toBe(0);
    } finally {
      await worker.stop();
      own.disconnect();
    }
  });

  it('loses nothing when message-service is killed holding entries: the next one reclaims them', async () => {
    const [p, q] = await Promise.all([newUser('p'), newUser('q')]);
    await befriend(p, q);
    let ids: string[] = [];
    let held = 0;
    await postgresReachable(false);
    try {
      ids = await sendMany(p, q, 10, 'before the crash');
      // The worker holds what it read (pending under its consumer) and cannot write it; the rest
      // wait in the stream, undelivered.
      await waitUntil(async () => among(ids)(await streamMessageIds(redis, 'pending')) > 0, {
        what: 'the worker holding some of the 10 entries',
        timeoutMs: DEADLINE,
      });
      held = among(ids)(await streamMessageIds(redis, 'pending'));
      await stack.component(SERVICE).kill('SIGKILL');
    } finally {
      await postgresReachable(true);
    }
    expect(await rowsFor(ids)).toBe(0);
    expect(among(ids)(await streamMessageIds(redis))).toBe(10);
    await stack.component(SERVICE).restart();
    await waitUntil(async () => (await rowsFor(ids)) === 10, {
      what: 'all 10 messages in PostgreSQL after the restart',
      timeoutMs: DEADLINE,
    });
    // A new process is a new consumer: what the dead one held came back by reclaim.
    expect(await serviceMetric('chatim_persist_messages_total', { status: 'reclaimed' })).toBe(held);
    await waitUntil(async () => (await pendingIds(redis)).length === 0, {
      what: 'nothing left pending',
      timeoutMs: DEADLINE,
    });
  });

  it('on SIGTERM stops taking requests, drains the worker without losing an entry, and exits by itself', async () => {
    const [r, s] = await Promise.all([newUser('r'), newUser('s')]);
    await befriend(r, s);
    const warm = await sendMany(r, s, 1, 'warm-up');
    await waitUntil(async () => (await rowsFor(warm)) === 1, {
      what: 'a warm PostgreSQL pool',
      timeoutMs: DEADLINE,
    });
    const component = stack.component(SERVICE);
    const main = `http://127.0.0.1:${component.ports.main}/healthz`;
    // PostgreSQL answers slowly: the worker is still holding the batch when SIGTERM comes.
    await toxiproxy('/proxies/postgres/toxics', 'POST', {
      name: 'slow',
      type: 'latency',
      stream: 'downstream',
      attributes: { latency: 3000 },
    });
    let ids: string[] = [];
    let refusedWhileDraining = false;
    try {
      ids = await sendMany(r, s, 5, 'drain');
      await waitUntil(async () => among(ids)(await streamMessageIds(redis, 'pending')) > 0, {
        what: 'the worker holding some of the 5 entries',
        timeoutMs: DEADLINE,
      });
      const stopped = component.stop();
      await waitUntil(
        async () => {
          try {
            await (await fetch(main)).body?.cancel();
            return false;
          } catch {
            refusedWhileDraining = component.state === 'running';
            return true;
          }
        },
        { what: 'the main port to stop taking requests', timeoutMs: DEADLINE },
      );
      await stopped;
    } finally {
      await toxiproxy('/proxies/postgres/toxics/slow', 'DELETE');
    }
    expect(refusedWhileDraining).toBe(true); // refused while the process was still draining
    expect(component.lastExit).toMatchObject({ code: 0, signal: null }); // not the stack's SIGKILL
    // At exit every entry is either written or still in the stream for the next worker.
    expect((await rowsFor(ids)) + among(ids)(await streamMessageIds(redis))).toBe(5);
    await component.restart();
    await waitUntil(async () => (await rowsFor(ids)) === 5, {
      what: 'all 5 messages in PostgreSQL after the restart',
      timeoutMs: DEADLINE,
    });
  });

  it('defect 15: migrations are recorded per service and version, so a restart re-runs none of them', async () => {
    const recorded = await db.query<{ service: string; version: number }>(
      'select',
      'schema_migrations',
      'SELECT service, version FROM schema_migrations ORDER BY service, version',
    );
    expect(recorded.rows).toEqual([
      ...MESSAGE_MIGRATIONS.map((m) => ({ service: SERVICE, version: m.version })),
      ...USER_MIGRATIONS.map((m) => ({ service: 'user-service', version: m.version })),
    ]);
    // What a second start does: nothing to apply, and no error from re-creating existing tables.
    expect(await migrate(db, 'user-service', USER_MIGRATIONS)).toEqual([]);
    expect(await migrate(db, SERVICE, MESSAGE_MIGRATIONS)).toEqual([]);
  });
});
