import {
  comparison,
  type Duration,
  histogramQuantile,
  type PromQL,
  selector,
  shareOf,
  sumBy,
} from '../../slo/promql.ts';
import { type METRICS, RUNTIME_METRICS } from '../../system-under-test/kit/metrics.ts';
import { EXPORTER_METRICS } from './exporter-metrics.ts';

/**
 * The alerts of the ChatIM stack as typed data. `render.ts` turns them into Prometheus rule files
 * for each time profile; `cases.ts` holds the promtool tests that prove each fires, and stays quiet
 * on healthy and borderline data. Thresholds are the seed's where they carry over; docs/alerts.md
 * says why where they differ.
 */

export type Severity = 'critical' | 'warning';

export interface AlertVariant {
  /** Extra static labels that tell the variants apart (e.g. dependency="redis"). */
  readonly labels: Readonly<Record<string, string>>;
  readonly expr: (t: (d: Duration) => Duration) => PromQL;
}

export interface AlertDef {
  readonly name: string;
  readonly group: 'http_alerts' | 'message_alerts' | 'resource_alerts' | 'service_health';
  readonly severity: Severity;
  /** Production `for`; scaled by the profile. */
  readonly for: Duration;
  /** One rule per variant (most alerts have one). */
  readonly variants: readonly AlertVariant[];
  /** Annotation templates; `{{window}}` is replaced by the profile's rate window. */
  readonly summary: string;
  readonly description: string;
  /** The production rate window the description mentions. */
  readonly window?: Duration;
  /** Why the threshold is what it is (docs/alerts.md). */
  readonly rationale: string;
}

const one = (expr: AlertVariant['expr']): AlertVariant[] => [{ labels: {}, expr }];
const m = (name: keyof typeof METRICS) => name;

export const ALERTS: readonly AlertDef[] = [
  {
    name: 'HighHTTPErrorRate',
    group: 'http_alerts',
    severity: 'critical',
    for: '5m',
    window: '5m',
    variants: one((t) =>
      comparison(
        shareOf(m('chatim_http_requests_total'), [['status', '=~', '5..']], ['job'], t('5m')),
        '>',
        0.05,
      ),
    ),
    summary: 'High HTTP 5xx ratio on {{ $labels.job }}',
    description:
      '{{ $value | humanizePercentage }} of HTTP requests to {{ $labels.job }} answered 5xx over the last {{window}} (threshold 5%).',
    rationale: "Seed's 5% over 5 minutes, kept: every 5xx is a failed user action.",
  },
  {
    name: 'HighHTTPLatency',
    group: 'http_alerts',
    severity: 'warning',
    for: '10m',
    window: '5m',
    variants: one((t) =>
      comparison(
        histogramQuantile(0.95, m('chatim_http_request_duration_seconds'), ['job'], t('5m')),
        '>',
        1,
      ),
    ),
    summary: 'Slow HTTP responses on {{ $labels.job }}',
    description:
      'p95 HTTP latency of {{ $labels.job }} is {{ $value | humanizeDuration }} over the last {{window}} (threshold 1s).',
    rationale: "Seed's p95 above 1 s for 10 minutes, kept; the SLOs hold the tighter latency objectives.",
  },
  {
    name: 'HighMessageSendFailureRate',
    group: 'message_alerts',
    severity: 'critical',
    for: '5m',
    window: '5m',
    variants: one((t) =>
      comparison(
        shareOf(m('chatim_messages_sent_total'), [['status', '=', 'failed']], ['job', 'type'], t('5m')),
        '>',
        0.1,
      ),
    ),
    summary: 'Message sends failing on {{ $labels.job }} ({{ $labels.type }})',
    description:
      '{{ $value | humanizePercentage }} of {{ $labels.type }} message sends failed over the last {{window}} (threshold 10%).',
    rationale:
      "Seed's 10% per message type, kept; it could never fire in the seed because the counter was never updated.",
  },
  {
    name: 'RedisStreamBacklog',
    group: 'message_alerts',
    severity: 'warning',
    for: '10m',
    variants: one(() =>
      comparison(sumBy(['job', 'stream'], selector(m('chatim_redis_stream_pending_messages'))), '>', 1000),
    ),
    summary: 'Persist backlog growing on {{ $labels.stream }}',
    description:
      '{{ $value }} messages of {{ $labels.stream }} are not yet in PostgreSQL (threshold 1000): the persist worker is behind or PostgreSQL is slow or down.',
    rationale:
      "Seed's 1000 entries for 10 minutes, kept, but on the persist stream's consumer-group backlog (pending + undelivered) instead of per-user inbox keys.",
  },
  {
    name: 'HighMemoryUsage',
    group: 'resource_alerts',
    severity: 'warning',
    for: '10m',
    variants: one(() => comparison(selector(RUNTIME_METRICS.heapUsed), '>', 1024 ** 3)),
    summary: 'High heap usage on {{ $labels.job }}',
    description: 'V8 heap used by {{ $labels.job }} is {{ $value | humanize1024 }}B (threshold 1GiB).',
    rationale: "Seed's 1 GiB of Go heap, carried over to V8's used heap (the honest analogue).",
  },
  {
    name: 'HighActiveHandles',
    group: 'resource_alerts',
    severity: 'warning',
    for: '10m',
    variants: one(() => comparison(selector(RUNTIME_METRICS.activeHandles), '>', 10_000)),
    summary: 'Too many active handles on {{ $labels.job }}',
    description:
      '{{ $labels.job }} holds {{ $value }} active libuv handles (sockets, servers, timers) (threshold 10000): something is leaking connections or timers.',
    rationale:
      "Seed's 10000 goroutines: Node has no goroutines; active handles grow the same way (one per connection), so the threshold carries over.",
  },
  {
    name: 'HighEventLoopLag',
    group: 'resource_alerts',
    severity: 'warning',
    for: '5m',
    variants: one(() => comparison(selector(RUNTIME_METRICS.eventLoopLagP99), '>', 0.1)),
    summary: 'Event loop blocked on {{ $labels.job }}',
    description:
      'p99 event-loop delay of {{ $labels.job }} is {{ $value | humanizeDuration }} (threshold 100ms): every request on it waits that long.',
    rationale:
      "Replaces the seed's HighGCPause (p95 GC pause above 100 ms): in Node a GC pause or any synchronous work shows up as event-loop delay, which is what users feel. Same 100 ms bar.",
  },
  {
    name: 'ServiceDown',
    group: 'service_health',
    severity: 'critical',
    for: '1m',
    variants: one(() => comparison(selector(EXPORTER_METRICS.up), '==', 0)),
    summary: '{{ $labels.job }} is down',
    description:
      'Prometheus could not scrape {{ $labels.instance }} ({{ $labels.job }}) for at least a minute.',
    rationale:
      "Seed's `up == 0` for 1 minute, kept; now every target really exists, so it can no longer fire forever.",
  },
  {
    name: 'DependencyDown',
    group: 'service_health',
    severity: 'critical',
    for: '1m',
    variants: [
      {
        labels: { dependency: 'redis' },
        expr: () => comparison(selector(EXPORTER_METRICS.redisUp), '==', 0),
      },
      {
        labels: { dependency: 'postgresql' },
        expr: () => comparison(selector(EXPORTER_METRICS.pgUp), '==', 0),
      },
    ],
    summary: '{{ $labels.dependency }} unreachable',
    description:
      '{{ $labels.job }} cannot reach {{ $labels.dependency }} (the exporter connects through the same path as the services) for at least a minute.',
    rationale: 'New: the seed had no exporter alerts (its exporters were commented out).',
  },
];
