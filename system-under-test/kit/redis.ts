/**
 * Redis access for the services: ioredis 5 (RESP2), every call timed and counted under a bounded
 * operation name, connection failures turned into DependencyError (→ 503).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { DependencyError } from './app.ts';
import { counterChildren, histogramChildren, type Metrics } from './metrics.ts';

export type RedisRole = 'command' | 'subscriber' | 'worker';

export interface RedisHandle {
  readonly client: Redis;
  readonly role: RedisRole;
}

/** Errors Redis itself answered (WRONGTYPE, NOSCRIPT, a script error) are bugs, not outages. */
function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

export function createRedis(url: string, role: RedisRole, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    // A command waits for at most one reconnect, then fails (→ 503) instead of queueing for ever.
    maxRetriesPerRequest: role === 'command' ? 1 : null,
    connectTimeout: 3000,
    ...(role === 'command' ? { commandTimeout: 5000 } : {}),
    retryStrategy: (times) => Math.min(50 * times, 1000),
    lazyConnect: false,
    enableAutoPipelining: false,
    connectionName: `chatim-${role}`,
    ...options,
  });
}

/** Times Redis operations into the catalogue metrics (one instance per service). */
export class RedisMetrics {
  readonly #ops;
  readonly #durations;
  readonly #clients: RedisHandle[] = [];

  constructor(metrics: Metrics) {
    this.#ops = counterChildren(metrics.get('chatim_redis_operations_total'), ['operation', 'status']);
    this.#durations = histogramChildren(metrics.get('chatim_redis_operation_duration_seconds'), [
      'operation',
    ]);
    metrics.onCollect('chatim_redis_connections', (g) => {
      g.reset();
      for (const h of this.#clients) {
        const ready = h.client.status === 'ready';
        g.inc({ role: h.role, state: ready ? 'ready' : 'not_ready' });
      }
      for (const role of ['command', 'subscriber', 'worker'] as const) {
        if (!this.#clients.some((h) => h.role === role)) continue;
        for (const state of ['ready', 'not_ready']) g.inc({ role, state }, 0);
      }
    });
  }

  track(client: Redis, role: RedisRole): Redis {
    this.#clients.push({ client, role });
    return client;
  }

  untrack(client: Redis): void {
    const i = this.#clients.findIndex((h) => h.client === client);
    if (i >= 0) this.#clients.splice(i, 1);
  }

  /** Runs `fn`, recording duration and outcome under `operation` (a literal, never an id). */
  async timed<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      const result = await fn();
      this.#ops.get(operation, 'success').inc();
      return result;
    } catch (err) {
      this.#ops.get(operation, 'failed').inc();
      if (isReplyError(err)) throw err;
      throw new DependencyError('redis', err);
    } finally {
      this.#durations.get(operation).observe((performance.now() - t0) / 1000);
    }
  }
}

/** Unwraps an ioredis pipeline/multi result: throws the first per-command error. */
export function execResults(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
