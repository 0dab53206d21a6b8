/**
 * PostgreSQL access for the services (`pg` pool): every query timed and counted under a bounded
 * operation and table, connection failures turned into DependencyError (→ 503), migrations applied
 * at start under an advisory lock and recorded per service.
 */
import pg from 'pg';
import { DependencyError } from './app.ts';
import type { ServiceName } from './config.ts';
import { counterChildren, histogramChildren, type Metrics } from './metrics.ts';

export type DbOperation = 'select' | 'insert' | 'update' | 'delete' | 'upsert' | 'tx' | 'migrate';

/** SQLSTATE classes that mean "the database is not reachable / not serving", not "your query is wrong". */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return true; // socket errors, timeouts, pool exhaustion
  return (
    code.startsWith('08') || code.startsWith('57P') || code === '53300' || code.startsWith('E') // ECONNREFUSED, ECONNRESET, ETIMEDOUT ...
  );
}

export type Queryable = Pick<pg.PoolClient, 'query'>;

export class Db {
  readonly pool: pg.Pool;
  readonly #queries;
  readonly #durations;

  constructor(url: string, max: number, metrics: Metrics) {
    this.pool = new pg.Pool({
      connectionString: url,
      max,
      connectionTimeoutMillis: 3000,
      idleTimeoutMillis: 30_000,
      statement_timeout: 10_000,
      query_timeout: 12_000,
      application_name: `chatim-${metrics.service}`,
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => {});
    this.#queries = counterChildren(metrics.get('chatim_db_queries_total'), ['operation', 'table', 'status']);
    this.#durations = histogramChildren(metrics.get('chatim_db_query_duration_seconds'), [
      'operation',
      'table',
    ]);
    metrics.onCollect('chatim_db_connection_pool', (g) => {
      g.set({ state: 'total' }, this.pool.totalCount);
      g.set({ state: 'idle' }, this.pool.idleCount);
      g.set({ state: 'waiting' }, this.pool.waitingCount);
    });
  }

  /** One instrumented query; `client` runs it inside a transaction. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    operation: DbOperation,
    table: string,
    sql: string,
    params: unknown[] = [],
    client?: Queryable,
  ): Promise<pg.QueryResult<R>> {
    const t0 = performance.now();
    try {
      const result = await (client ?? this.pool).query<R>(sql, params);
      this.#queries.get(operation, table, 'success').inc();
      return result;
    } catch (err) {
      this.#queries.get(operation, table, 'failed').inc();
      if (isConnectionError(err)) throw new DependencyError('postgres', err);
      throw err;
    } finally {
      this.#durations.get(operation, table).observe((performance.now() - t0) / 1000);
    }
  }

  /** Runs `fn` in a transaction (BEGIN/COMMIT, ROLLBACK on error). */
  async tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      this.#queries.get('tx', 'all', 'failed').inc();
      throw new DependencyError('postgres', err);
    }
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if (
        !(err instanceof DependencyError) &&
        isConnectionError(err) &&
        !(err as { status?: number }).status
      ) {
        throw new DependencyError('postgres', err);
      }
      throw err;
    } finally {
      client.release();
    }
  }

  async ping(): Promise<void> {
    await this.query('select', 'none', 'SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/**
 * Applies the service's migrations not yet recorded, each in its own transaction, under an advisory
 * lock (several instances may start at once). Versions are recorded, so a migration runs once.
 */
export async function migrate(
  db: Db,
  service: ServiceName,
  migrations: readonly Migration[],
): Promise<number[]> {
  const applied: number[] = [];
  const client = await db.pool.connect().catch((err: unknown) => {
    throw new DependencyError('postgres', err);
  });
  try {
    await client.query('SELECT pg_advisory_lock(727272)');
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         service text NOT NULL, version integer NOT NULL, description text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (service, version))`,
    );
    const done = new Set(
      (
        await client.query<{ version: number }>('SELECT version FROM schema_migrations WHERE service = $1', [
          service,
        ])
      ).rows.map((r) => r.version),
    );
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query(
          'INSERT INTO schema_migrations (service, version, description) VALUES ($1, $2, $3)',
          [service, m.version, m.description],
        );
        await client.query('COMMIT');
        applied.push(m.version);
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(
          `migration ${service} v${m.version} (${m.description}) failed: ${(err as Error).message}`,
        );
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(727272)').catch(() => {});
    client.release();
  }
  return applied;
}
