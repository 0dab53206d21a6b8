/**
 * Metrics of third-party exporters and of Prometheus itself that our rules use. Our own services'
 * metric names live in system-under-test/kit/metrics.ts; these are the others, named once here.
 */
export const EXPORTER_METRICS = {
  /** Prometheus: 1 when the last scrape of a target succeeded. */
  up: 'up',
  /** redis_exporter: 1 when it could talk to Redis on its last scrape. */
  redisUp: 'redis_up',
  /** postgres_exporter: 1 when it could talk to PostgreSQL on its last scrape. */
  pgUp: 'pg_up',
} as const;
