/**
 * The persist worker: moves every message from the Redis persist stream to PostgreSQL through the
 * consumer group `persist`. Nothing acknowledged is lost when PostgreSQL is slow or down: an entry
 * is XACKed (and deleted) only after its INSERT committed; a failed batch stays pending and is
 * retried with back-off; entries a crashed worker left pending are taken over (XPENDING IDLE + XCLAIM).
 * Inserts are idempotent (message id primary key, ON CONFLICT DO NOTHING), so a retry or a
 * takeover never writes a message twice. The backlog is the gauge chatim_redis_stream_pending_messages.
 */
import os from 'node:os';
import type { Redis } from 'ioredis';
import type { Db } from '../kit/db.ts';
import { KEYS } from '../kit/keys.ts';
import type { Metrics } from '../kit/metrics.ts';
import type { RedisMetrics } from '../kit/redis.ts';

export interface PersistWorkerOptions {
  readonly db: Db;
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  readonly redis: Redis;
  readonly redisMetrics: RedisMetrics;
  readonly metrics: Metrics;
  readonly batch: number;
  readonly reclaimIdleMs: number;
  readonly blockMs?: number;
  readonly consumer?: string;
  readonly log?: (msg: string, err?: unknown) => void;
}

interface Row {
  streamId: string;
  id: string;
  conversation_key: string;
  seq: number;
  type: string;
  from_user_id: string;
  to_user_id: string | null;
  group_id: string | null;
  content: string;
  created_at_ms: number;
}

type StreamEntries = [string, string[]][];

function toRow(streamId: string, fields: string[]): Row {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  return {
    streamId,
    id: f.id ?? '',
    conversation_key: f.conversation_key ?? '',
    seq: Number(f.seq ?? 0),
    type: f.type ?? 'private',
    from_user_id: f.from_user_id ?? '',
    to_user_id: f.to_user_id || null,
    group_id: f.group_id || null,
    content: f.content ?? '',
    created_at_ms: Number(f.created_at ?? 0),
  };
}

const STREAM = 'persist';

export class PersistWorker {
  readonly consumer: string;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #running = false;
  #lastBacklogAt = 0;
  #readPending = true;
  readonly #outcomes;
  readonly #batchTime;
  readonly #backlog;

  constructor(private readonly o: PersistWorkerOptions) {
    this.consumer = o.consumer ?? `${os.hostname()}-${process.pid}`;
    const m = o.metrics;
    this.#outcomes = m.get('chatim_persist_messages_total');
    for (const s of ['persisted', 'duplicate', 'failed', 'reclaimed']) this.#outcomes.inc({ status: s }, 0);
    this.#batchTime = m.get('chatim_persist_batch_duration_seconds');
    this.#backlog = m.get('chatim_redis_stream_pending_messages');
    m.onCollect('chatim_redis_stream_pending_messages', async () => {
      if (Date.now() - this.#lastBacklogAt > 1000) await this.refreshBacklog().catch(() => {});
    });
  }

  get running(): boolean {
    return this.#running;
  }

  async start(): Promise<void> {
    await this.#ensureGroup();
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stops after the batch in hand (drains it), within one BLOCK interval. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    this.#running = false;
  }

  async #ensureGroup(): Promise<void> {
    try {
      await this.o.redisMetrics.timed('persist_group_create', () =>
        this.o.redis.xgroup('CREATE', KEYS.persistStream, KEYS.persistGroup, '0', 'MKSTREAM'),
      );
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  async refreshBacklog(): Promise<void> {
    const info = (await this.o.redisMetrics.timed('persist_backlog', () =>
      this.o.redis.xinfo('GROUPS', KEYS.persistStream),
    )) as unknown[][];
    for (const g of info) {
      const f: Record<string, unknown> = {};
      for (let i = 0; i + 1 < g.length; i += 2) f[String(g[i])] = g[i + 1];
      if (f.name !== KEYS.persistGroup) continue;
      this.#backlog.set({ stream: STREAM, state: 'pending' }, Number(f.pending ?? 0));
      this.#backlog.set({ stream: STREAM, state: 'undelivered' }, Number(f.lag ?? 0));
    }
    this.#lastBacklogAt = Date.now();
  }

  async #run(): Promise<void> {
    let backoff = 0;
    let lastReclaim = 0;
    while (!this.#stopping) {
      try {
        if (Date.now() - this.#lastBacklogAt > 500) await this.refreshBacklog();
        if (Date.now() - lastReclaim > Math.min(this.o.reclaimIdleMs, 5000)) {
          lastReclaim = Date.now();
          await this.#reclaim();
        }
        const id = this.#readPending ? '0' : '>';
        const res = (await this.o.redisMetrics.timed('persist_read', () =>
          this.o.redis.call(
            'XREADGROUP',
            'GROUP',
            KEYS.persistGroup,
            this.consumer,
            'COUNT',
            this.o.batch,
            ...(id === '>' ? ['BLOCK', this.o.blockMs ?? 1000] : []),
            'STREAMS',
            KEYS.persistStream,
            id,
          ),
        )) as [string, StreamEntries][] | null;
        const entries = res?.[0]?.[1] ?? [];
        if (this.#readPending && entries.length === 0) this.#readPending = false;
        // Pending entries whose stream entry is gone come back with null fields: just acknowledge them.
        const live = entries.filter(([, fields]) => Array.isArray(fields));
        const gone = entries.filter(([, fields]) => !Array.isArray(fields)).map(([sid]) => sid);
        if (gone.length > 0) await this.#ack(gone);
        if (live.length > 0) await this.#persist(live.map(([sid, fields]) => toRow(sid, fields)));
        backoff = 0;
      } catch (err) {
        this.#readPending = true;
        backoff = Math.min(backoff === 0 ? 100 : backoff * 2, 5000);
        this.o.log?.(`persist worker: ${(err as Error).message}; retrying in ${backoff} ms`, err);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, backoff);
          this.#wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    }
  }

  /**
   * Takes over entries another (crashed or stuck) consumer left pending for longer than
   * reclaimIdleMs. Only other consumers' entries: this worker's own pending entries are retried by
   * its own re-read (`XREADGROUP ... 0`), and counting those as "reclaimed" would make every retry
   * during a PostgreSQL outage look like a takeover. XCLAIM's min-idle check keeps two workers from
   * taking the same entry.
   */
  async #reclaim(): Promise<void> {
    const summary = (await this.o.redisMetrics.timed('persist_reclaim', () =>
      this.o.redis.xpending(KEYS.persistStream, KEYS.persistGroup),
    )) as [number, string | null, string | null, [string, string][] | null];
    const others = (summary[3] ?? []).filter(([name, count]) => name !== this.consumer && Number(count) > 0);
    for (const [owner] of others) {
      for (let rounds = 0; rounds < 10; rounds++) {
        const stale = (await this.o.redisMetrics.timed('persist_reclaim', () =>
          this.o.redis.call(
            'XPENDING',
            KEYS.persistStream,
            KEYS.persistGroup,
            'IDLE',
            this.o.reclaimIdleMs,
            '-',
            '+',
            this.o.batch,
            owner,
          ),
        )) as [string, string, number, number][];
        if (stale.length === 0) break;
        const claimed = (await this.o.redisMetrics.timed('persist_reclaim', () =>
          this.o.redis.xclaim(
            KEYS.persistStream,
            KEYS.persistGroup,
            this.consumer,
            this.o.reclaimIdleMs,
            ...stale.map(([id]) => id),
          ),
        )) as StreamEntries;
        // Redis 7 drops ids whose entry was deleted from the pending list itself; older versions
        // return them with null fields: acknowledge those.
        const gone = claimed.filter(([, fields]) => !Array.isArray(fields)).map(([sid]) => sid);
        if (gone.length > 0) await this.#ack(gone);
        const live = claimed.filter(([, fields]) => Array.isArray(fields));
        if (live.length > 0) {
          this.#outcomes.inc({ status: 'reclaimed' }, live.length);
          await this.#persist(live.map(([sid, fields]) => toRow(sid, fields)));
        }
        if (stale.length < this.o.batch) break;
      }
    }
  }

  async #persist(rows: Row[]): Promise<void> {
    const end = this.#batchTime.startTimer();
    let inserted: number;
    try {
      const r = await this.o.db.query(
        'insert',
        'messages',
        `INSERT INTO messages (id, conversation_key, seq, type, from_user_id, to_user_id, group_id, content, created_at_ms)
         SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::bigint[], $4::varchar[], $5::uuid[], $6::uuid[],
                              $7::uuid[], $8::text[], $9::bigint[])
         ON CONFLICT (id) DO NOTHING`,
        [
          rows.map((r) => r.id),
          rows.map((r) => r.conversation_key),
          rows.map((r) => r.seq),
          rows.map((r) => r.type),
          rows.map((r) => r.from_user_id),
          rows.map((r) => r.to_user_id),
          rows.map((r) => r.group_id),
          rows.map((r) => r.content),
          rows.map((r) => r.created_at_ms),
        ],
      );
      inserted = r.rowCount ?? 0;
    } catch (err) {
      this.#outcomes.inc({ status: 'failed' }, rows.length);
      throw err;
    } finally {
      end();
    }
    this.#outcomes.inc({ status: 'persisted' }, inserted);
    this.#outcomes.inc({ status: 'duplicate' }, rows.length - inserted);
    await this.#ack(rows.map((r) => r.streamId));
  }

  async #ack(ids: string[]): Promise<void> {
    await this.o.redisMetrics.timed('persist_ack', () =>
      this.o.redis
        .multi()
        .xack(KEYS.persistStream, KEYS.persistGroup, ...ids)
        .xdel(KEYS.persistStream, ...ids)
        .exec(),
    );
  }
}
