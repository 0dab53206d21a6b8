/**
 * Every metric of every ChatIM service is declared here, once: name, type, help, labels, buckets and
 * the services that expose it. `docs/metrics.md` documents each (a test keeps them in step), and
 * `slo/` and `monitoring/` import the names from here instead of spelling them again.
 *
 * Labels are bounded by construction: route templates (never raw URLs; every 404 is `route="404"`),
 * enum-like statuses and operation names, never user, group or message ids.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, type LabelValues, Registry } from 'prom-client';
import type { ServiceName } from './config.ts';

const ALL: readonly ServiceName[] = ['gateway', 'user-service', 'message-service'];
const BACKENDS: readonly ServiceName[] = ['user-service', 'message-service'];

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const FAST_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];
const SIZE_BUCKETS = [100, 1000, 10_000, 100_000, 1_000_000, 10_000_000];

interface MetricSpec {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  readonly labelNames: readonly string[];
  /**
   * Every value the code emits for an enum-like label that SLOs or rules filter on: the SLO validator
   * rejects a matcher on a value the metric never has (a typo would select nothing, for ever).
   */
  readonly labelValues?: Readonly<Record<string, readonly string[]>>;
  readonly buckets?: readonly number[];
  readonly services: readonly ServiceName[];
  /** Where in the code it is updated (documentation, checked against docs/metrics.md). */
  readonly updatedIn: string;
}

/** Prefix of the Node runtime metrics (`chatim_nodejs_*`, `chatim_process_*`). */
export const DEFAULT_METRICS_PREFIX = 'chatim_';

/**
 * Node runtime metrics (prom-client's collectDefaultMetrics with our prefix) that rules, dashboards
 * and SLOs use: named here once, next to the catalogue they complement.
 */
export const RUNTIME_METRICS = {
  heapUsed: `${DEFAULT_METRICS_PREFIX}nodejs_heap_size_used_bytes`,
  activeHandles: `${DEFAULT_METRICS_PREFIX}nodejs_active_handles_total`,
  eventLoopLagP99: `${DEFAULT_METRICS_PREFIX}nodejs_eventloop_lag_p99_seconds`,
  residentMemory: `${DEFAULT_METRICS_PREFIX}process_resident_memory_bytes`,
} as const;

/** The Prometheus scrape job of each service's metrics port, in every runtime. */
export const SCRAPE_JOBS = {
  gateway: 'chatim-gateway',
  'user-service': 'chatim-user-service',
  'message-service': 'chatim-message-service',
} as const satisfies Record<ServiceName, string>;

export const METRICS = {
  chatim_http_requests_total: {
    type: 'counter',
    help: 'HTTP requests served, by method, route template and status code',
    labelNames: ['method', 'route', 'status'],
    services: ALL,
    updatedIn: 'kit/app.ts onResponse hook',
  },
  chatim_http_request_duration_seconds: {
    type: 'histogram',
    help: 'HTTP request duration (receive to response sent), by method and route template',
    labelNames: ['method', 'route'],
    buckets: LATENCY_BUCKETS,
    services: ALL,
    updatedIn: 'kit/app.ts onResponse hook',
  },
  chatim_http_request_size_bytes: {
    type: 'histogram',
    help: 'HTTP request body size (Content-Length), by method and route template',
    labelNames: ['method', 'route'],
    buckets: SIZE_BUCKETS,
    services: ALL,
    updatedIn: 'kit/app.ts onResponse hook',
  },
  chatim_http_response_size_bytes: {
    type: 'histogram',
    help: 'HTTP response body size, by method and route template',
    labelNames: ['method', 'route'],
    buckets: SIZE_BUCKETS,
    services: ALL,
    updatedIn: 'kit/app.ts onSend hook',
  },
  chatim_messages_sent_total: {
    type: 'counter',
    help: 'Message sends by type (private, group) and status (success, failed)',
    labelNames: ['type', 'status'],
    labelValues: { type: ['private', 'group'], status: ['success', 'failed'] },
    services: ['message-service'],
    updatedIn: 'message-service/app.ts send handlers (timedSend)',
  },
  chatim_message_send_duration_seconds: {
    type: 'histogram',
    help: 'Time to make a send durable in Redis (fan-out included), by type',
    labelNames: ['type'],
    labelValues: { type: ['private', 'group'] },
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    services: ['message-service'],
    updatedIn: 'message-service/app.ts send handlers (timedSend)',
  },
  chatim_message_fanout_recipients: {
    type: 'histogram',
    help: 'Inbox streams written per send (recipients plus the sender copy), by type',
    labelNames: ['type'],
    buckets: [2, 5, 10, 25, 50, 100, 250, 500, 1000],
    services: ['message-service'],
    updatedIn: 'message-service/app.ts send handlers (timedSend)',
  },
  chatim_messages_pulled_total: {
    type: 'counter',
    help: 'Messages returned by pull (GET /messages), by type',
    labelNames: ['type'],
    services: ['message-service'],
    updatedIn: 'message-service/app.ts GET /api/v1/messages',
  },
  chatim_messages_read_total: {
    type: 'counter',
    help: 'Read marks applied (POST /messages/read, /messages/cursor with a peer, /groups/:id/read), by type',
    labelNames: ['type'],
    services: ['message-service'],
    updatedIn: 'message-service/app.ts markRead()',
  },
  chatim_persist_messages_total: {
    type: 'counter',
    help: 'Persist worker outcomes per stream entry: persisted, duplicate (already in PostgreSQL), failed (will be retried), reclaimed (taken over from a stale consumer)',
    labelNames: ['status'],
    services: ['message-service'],
    updatedIn: 'message-service/persist-worker.ts',
  },
  chatim_persist_batch_duration_seconds: {
    type: 'histogram',
    help: 'Time to write one batch of messages to PostgreSQL',
    labelNames: [],
    buckets: LATENCY_BUCKETS,
    services: ['message-service'],
    updatedIn: 'message-service/persist-worker.ts',
  },
  chatim_redis_stream_pending_messages: {
    type: 'gauge',
    help: 'Persist backlog: entries of the persist stream not yet written to PostgreSQL (state pending = delivered, not acked; undelivered = not yet read by the group)',
    labelNames: ['stream', 'state'],
    services: ['message-service'],
    updatedIn: 'message-service/persist-worker.ts (refreshed each loop and on scrape)',
  },
  chatim_redis_operations_total: {
    type: 'counter',
    help: 'Redis commands (or pipelines/scripts) by operation name and status (success, failed)',
    labelNames: ['operation', 'status'],
    services: ALL,
    updatedIn: 'kit/redis.ts timed()',
  },
  chatim_redis_operation_duration_seconds: {
    type: 'histogram',
    help: 'Redis round-trip time by operation name',
    labelNames: ['operation'],
    buckets: FAST_BUCKETS,
    services: ALL,
    updatedIn: 'kit/redis.ts timed()',
  },
  chatim_redis_connections: {
    type: 'gauge',
    help: 'Redis connections of this process by role (command, subscriber, worker) and state (ready, not_ready)',
    labelNames: ['role', 'state'],
    services: ALL,
    updatedIn: 'kit/redis.ts (collected on scrape)',
  },
  chatim_websocket_active_connections: {
    type: 'gauge',
    help: 'Open WebSocket connections on this gateway',
    labelNames: [],
    services: ['gateway'],
    updatedIn: 'gateway/ws-hub.ts (collected on scrape)',
  },
  chatim_online_users: {
    type: 'gauge',
    help: 'Distinct users with at least one open WebSocket on this gateway',
    labelNames: [],
    services: ['gateway'],
    updatedIn: 'gateway/ws-hub.ts (collected on scrape)',
  },
  chatim_websocket_messages_pushed_total: {
    type: 'counter',
    help: 'Push frames by type (private, group) and status (sent, dropped = fault, no_socket = user not connected here, slow_consumer = socket over CHATIM_WS_MAX_BUFFERED_BYTES and closed with 4008, closing = socket already closing)',
    labelNames: ['type', 'status'],
    services: ['gateway'],
    updatedIn: 'gateway/ws-hub.ts deliver()',
  },
  chatim_websocket_connection_duration_seconds: {
    type: 'histogram',
    help: 'Lifetime of closed WebSocket connections',
    labelNames: [],
    buckets: [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 86400],
    services: ['gateway'],
    updatedIn: 'gateway/ws-hub.ts on close',
  },
  chatim_websocket_disconnects_total: {
    type: 'counter',
    help: 'Closed WebSocket connections by reason (client, heartbeat_timeout, slow_consumer, token_expired, logged_out, too_many_sockets, shutdown, error)',
    labelNames: ['reason'],
    services: ['gateway'],
    updatedIn: 'gateway/ws-hub.ts on close',
  },
  chatim_auth_failures_total: {
    type: 'counter',
    help: 'Rejected authentications by reason (missing, malformed, invalid, expired, revoked)',
    labelNames: ['reason'],
    services: ['gateway'],
    updatedIn: 'gateway/auth.ts',
  },
  chatim_rate_limited_total: {
    type: 'counter',
    help: 'Requests rejected with 429 by a rate limit (per-user sends; per-IP register and login; per-username login), by route template',
    labelNames: ['route'],
    services: ['gateway'],
    updatedIn: 'gateway/app.ts send and auth rate limits',
  },
  chatim_internal_requests_total: {
    type: 'counter',
    help: 'Calls to other ChatIM services (keep-alive HTTP) by target service, route template and status (HTTP code, or error)',
    labelNames: ['target', 'route', 'status'],
    services: ['gateway'],
    updatedIn: 'kit/http-client.ts',
  },
  chatim_internal_request_duration_seconds: {
    type: 'histogram',
    help: 'Duration of calls to other ChatIM services by target service and route template',
    labelNames: ['target', 'route'],
    buckets: LATENCY_BUCKETS,
    services: ['gateway'],
    updatedIn: 'kit/http-client.ts',
  },
  chatim_db_queries_total: {
    type: 'counter',
    help: 'PostgreSQL queries by operation (select, insert, update, delete, tx), table and status',
    labelNames: ['operation', 'table', 'status'],
    services: BACKENDS,
    updatedIn: 'kit/db.ts query()',
  },
  chatim_db_query_duration_seconds: {
    type: 'histogram',
    help: 'PostgreSQL query duration by operation and table',
    labelNames: ['operation', 'table'],
    buckets: LATENCY_BUCKETS,
    services: BACKENDS,
    updatedIn: 'kit/db.ts query()',
  },
  chatim_db_connection_pool: {
    type: 'gauge',
    help: 'PostgreSQL pool connections by state (total, idle, waiting = queued clients)',
    labelNames: ['state'],
    services: BACKENDS,
    updatedIn: 'kit/db.ts (collected on scrape)',
  },
  chatim_password_hash_duration_seconds: {
    type: 'histogram',
    help: 'scrypt password hash/verify time by operation (hash, verify)',
    labelNames: ['operation'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
    services: ['user-service'],
    updatedIn: 'user-service/passwords.ts',
  },
  chatim_groups_total: {
    type: 'gauge',
    help: 'Groups that exist (not dismissed)',
    labelNames: [],
    services: ['user-service'],
    updatedIn: 'user-service/app.ts (collected on scrape, cached 10 s)',
  },
  chatim_friendships_total: {
    type: 'gauge',
    help: 'Friendships (pairs)',
    labelNames: [],
    services: ['user-service'],
    updatedIn: 'user-service/app.ts (collected on scrape, cached 10 s)',
  },
  chatim_fault_active: {
    type: 'gauge',
    help: 'Fault switchboard: 1 while the named fault is active on this process',
    labelNames: ['fault'],
    services: ALL,
    updatedIn: 'kit/faults.ts',
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof METRICS;

type LabelsOf<N extends MetricName> = (typeof METRICS)[N]['labelNames'][number];

type MetricOf<N extends MetricName> = (typeof METRICS)[N]['type'] extends 'counter'
  ? Counter<LabelsOf<N>>
  : (typeof METRICS)[N]['type'] extends 'gauge'
    ? Gauge<LabelsOf<N>>
    : Histogram<LabelsOf<N>>;

/** Metric names a service exposes (its own catalogue entries). */
export function metricNamesFor(service: ServiceName): MetricName[] {
  return (Object.keys(METRICS) as MetricName[]).filter((n) =>
    (METRICS[n].services as readonly ServiceName[]).includes(service),
  );
}

/**
 * One service's metrics on its own Registry (never the global one), plus the Node runtime metrics
 * with the `chatim_` prefix. Building it twice in one process is fine (tests do).
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #metrics = new Map<string, Counter<string> | Gauge<string> | Histogram<string>>();

  constructor(readonly service: ServiceName) {
    collectDefaultMetrics({ register: this.registry, prefix: DEFAULT_METRICS_PREFIX });
    for (const name of metricNamesFor(service)) {
      const spec: MetricSpec = METRICS[name];
      const common = {
        name,
        help: spec.help,
        labelNames: [...spec.labelNames],
        registers: [this.registry],
      };
      const metric =
        spec.type === 'counter'
          ? new Counter(common)
          : spec.type === 'gauge'
            ? new Gauge(common)
            : new Histogram({ ...common, buckets: [...(spec.buckets ?? LATENCY_BUCKETS)] });
      this.#metrics.set(name, metric);
    }
  }

  /** The metric `name`; throws when this service does not expose it (a catalogue mistake). */
  get<N extends MetricName>(name: N): MetricOf<N> {
    const m = this.#metrics.get(name);
    if (!m) throw new Error(`metric ${name} is not declared for ${this.service} in kit/metrics.ts`);
    return m as unknown as MetricOf<N>;
  }

  /** Registers a collect callback run on each scrape (for gauges read from a pool or a map). */
  onCollect<N extends MetricName>(name: N, fn: (metric: MetricOf<N>) => void | Promise<void>): void {
    const metric = this.get(name) as unknown as { collect?: () => unknown };
    const previous = metric.collect;
    const self = this.get(name);
    metric.collect = async () => {
      await previous?.call(self);
      await fn(self);
    };
  }
}

/**
 * Cached label children for hot paths: `labels()` hashes the label set on every call; this keeps one
 * child per distinct key. Keys are bounded because label values are.
 */
export class ChildCache<C> {
  readonly #children = new Map<string, C>();

  constructor(private readonly make: (...values: string[]) => C) {}

  get(...values: string[]): C {
    const key = values.join('\u0000');
    let child = this.#children.get(key);
    if (!child) {
      child = this.make(...values);
      this.#children.set(key, child);
    }
    return child;
  }
}

export function counterChildren<L extends string>(counter: Counter<L>, labelNames: readonly L[]) {
  return new ChildCache((...values: string[]) => {
    const labels = Object.fromEntries(labelNames.map((n, i) => [n, values[i] ?? ''])) as LabelValues<L>;
    return counter.labels(labels);
  });
}

export function histogramChildren<L extends string>(histogram: Histogram<L>, labelNames: readonly L[]) {
  return new ChildCache((...values: string[]) => {
    const labels = Object.fromEntries(labelNames.map((n, i) => [n, values[i] ?? ''])) as LabelValues<L>;
    return histogram.labels(labels);
  });
}
