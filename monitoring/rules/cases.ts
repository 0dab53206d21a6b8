import type { Duration } from '../../slo/promql.ts';
import { SCRAPE_JOBS } from '../../system-under-test/kit/metrics.ts';
import { ALERTS } from './alerts.ts';
import type { RuleProfile } from './profiles.ts';
import { runbookUrl } from './render.ts';

/**
 * promtool unit tests of every alert, written once on the production timeline (one sample a
 * minute) and scaled to each profile like the rules themselves. Each alert has a case that fires
 * (with its labels and annotations, not before its `for` has elapsed), one that stays quiet on
 * healthy data, and one on borderline data (at or just under the threshold, or a short spike).
 */

export type CaseKind = 'fires' | 'quiet on healthy data' | 'quiet on borderline data';

export interface ExpectedAlert {
  readonly labels: Readonly<Record<string, string>>;
  /** summary and description; runbook_url is added from the alert name. */
  readonly annotations: { readonly summary: string; readonly description: string };
}

export interface AlertCase {
  readonly alert: string;
  readonly kind: CaseKind;
  readonly title: string;
  /** Input series, one sample per production minute. */
  readonly series: readonly { readonly series: string; readonly values: string }[];
  /** Evaluation points (production time) and the alerts expected firing then ([] = none). */
  readonly checks: readonly { readonly at: Duration; readonly firing: readonly ExpectedAlert[] }[];
}

const GW = SCRAPE_JOBS.gateway;
const MS = SCRAPE_JOBS['message-service'];

const http = (status: string, perMinute: number) => ({
  series: `chatim_http_requests_total{job="${GW}",method="POST",route="/api/v1/messages/send",status="${status}"}`,
  values: `0+${perMinute}x30`,
});
const sends = (status: string, perMinute: number) => ({
  series: `chatim_messages_sent_total{job="${MS}",type="private",status="${status}"}`,
  values: `0+${perMinute}x30`,
});
const latencyBuckets = (perBucket: Record<string, number>) =>
  Object.entries(perBucket).map(([le, n]) => ({
    series: `chatim_http_request_duration_seconds_bucket{job="${GW}",method="GET",route="/api/v1/messages",le="${le}"}`,
    values: `0+${n}x30`,
  }));
const gauge = (name: string, labels: string, values: string) => ({ series: `${name}{${labels}}`, values });

/** "quiet before `for` has elapsed, firing after": the right eval time. */
const firesAfter = (before: Duration, after: Duration, alert: ExpectedAlert) => [
  { at: before, firing: [] },
  { at: after, firing: [alert] },
];
const quiet = (...at: Duration[]) => at.map((a) => ({ at: a, firing: [] }));

export const ALERT_CASES: readonly AlertCase[] = [
  {
    alert: 'HighHTTPErrorRate',
    kind: 'fires',
    title: '10% of requests answer 500',
    series: [http('200', 90), http('500', 10)],
    checks: firesAfter('4m', '8m', {
      labels: { job: GW, service: GW, severity: 'critical' },
      annotations: {
        summary: `High HTTP 5xx ratio on ${GW}`,
        description: `10% of HTTP requests to ${GW} answered 5xx over the last {{window}} (threshold 5%).`,
      },
    }),
  },
  {
    alert: 'HighHTTPErrorRate',
    kind: 'quiet on healthy data',
    title: 'no 5xx at all',
    series: [http('200', 100), http('500', 0)],
    checks: quiet('8m', '20m'),
  },
  {
    alert: 'HighHTTPErrorRate',
    kind: 'quiet on borderline data',
    title: '4.9% of requests answer 503',
    series: [http('200', 951), http('503', 49)],
    checks: quiet('8m', '20m'),
  },
  {
    alert: 'HighHTTPLatency',
    kind: 'fires',
    title: 'every request takes 1–2.5 s (p95 ≈ 2.4 s)',
    series: latencyBuckets({ '0.5': 0, '1': 0, '2.5': 100, '+Inf': 100 }),
    checks: firesAfter('9m', '14m', {
      labels: { job: GW, service: GW, severity: 'warning' },
      annotations: {
        summary: `Slow HTTP responses on ${GW}`,
        description: `p95 HTTP latency of ${GW} is 2.425s over the last {{window}} (threshold 1s).`,
      },
    }),
  },
  {
    alert: 'HighHTTPLatency',
    kind: 'quiet on healthy data',
    title: 'every request under 0.5 s',
    series: latencyBuckets({ '0.5': 100, '1': 100, '2.5': 100, '+Inf': 100 }),
    checks: quiet('14m', '25m'),
  },
  {
    alert: 'HighHTTPLatency',
    kind: 'quiet on borderline data',
    title: 'every request 0.5–1 s (p95 ≈ 0.98 s, just under 1 s)',
    series: latencyBuckets({ '0.5': 0, '1': 100, '2.5': 100, '+Inf': 100 }),
    checks: quiet('14m', '25m'),
  },
  {
    alert: 'HighMessageSendFailureRate',
    kind: 'fires',
    title: '20% of private sends fail',
    series: [sends('success', 80), sends('failed', 20)],
    checks: firesAfter('4m', '8m', {
      labels: { job: MS, service: MS, type: 'private', severity: 'critical' },
      annotations: {
        summary: `Message sends failing on ${MS} (private)`,
        description: '20% of private message sends failed over the last {{window}} (threshold 10%).',
      },
    }),
  },
  {
    alert: 'HighMessageSendFailureRate',
    kind: 'quiet on healthy data',
    title: 'no failed sends',
    series: [sends('success', 100), sends('failed', 0)],
    checks: quiet('8m', '20m'),
  },
  {
    alert: 'HighMessageSendFailureRate',
    kind: 'quiet on borderline data',
    title: '9.9% of sends fail',
    series: [sends('success', 901), sends('failed', 99)],
    checks: quiet('8m', '20m'),
  },
  {
    alert: 'RedisStreamBacklog',
    kind: 'fires',
    title: '1500 messages waiting for PostgreSQL',
    series: [
      gauge(
        'chatim_redis_stream_pending_messages',
        `job="${MS}",stream="chatim:persist",state="undelivered"`,
        '1500x30',
      ),
    ],
    checks: firesAfter('9m', '12m', {
      labels: { job: MS, service: MS, stream: 'chatim:persist', severity: 'warning' },
      annotations: {
        summary: 'Persist backlog growing on chatim:persist',
        description:
          '1500 messages of chatim:persist are not yet in PostgreSQL (threshold 1000): the persist worker is behind or PostgreSQL is slow or down.',
      },
    }),
  },
  {
    alert: 'RedisStreamBacklog',
    kind: 'quiet on healthy data',
    title: 'a backlog of 10',
    series: [
      gauge(
        'chatim_redis_stream_pending_messages',
        `job="${MS}",stream="chatim:persist",state="pending"`,
        '10x30',
      ),
    ],
    checks: quiet('12m', '25m'),
  },
  {
    alert: 'RedisStreamBacklog',
    kind: 'quiet on borderline data',
    title: 'exactly 1000, and a 5-minute spike to 5000',
    series: [
      gauge(
        'chatim_redis_stream_pending_messages',
        `job="${MS}",stream="chatim:persist",state="pending"`,
        '1000x30',
      ),
      gauge(
        'chatim_redis_stream_pending_messages',
        `job="${MS}",stream="chatim:other",state="pending"`,
        '5000x5 0x25',
      ),
    ],
    checks: quiet('4m', '12m', '25m'),
  },
  {
    alert: 'HighMemoryUsage',
    kind: 'fires',
    title: '2 GiB of heap in use',
    series: [
      gauge('chatim_nodejs_heap_size_used_bytes', `job="${GW}",instance="127.0.0.1:1"`, '2147483648x30'),
    ],
    checks: firesAfter('9m', '12m', {
      labels: { job: GW, instance: '127.0.0.1:1', service: GW, severity: 'warning' },
      annotations: {
        summary: `High heap usage on ${GW}`,
        description: `V8 heap used by ${GW} is 2GiB (threshold 1GiB).`,
      },
    }),
  },
  {
    alert: 'HighMemoryUsage',
    kind: 'quiet on healthy data',
    title: '80 MiB of heap',
    series: [
      gauge('chatim_nodejs_heap_size_used_bytes', `job="${GW}",instance="127.0.0.1:1"`, '83886080x30'),
    ],
    checks: quiet('12m', '25m'),
  },
  {
    alert: 'HighMemoryUsage',
    kind: 'quiet on borderline data',
    title: 'exactly 1 GiB',
    series: [
      gauge('chatim_nodejs_heap_size_used_bytes', `job="${GW}",instance="127.0.0.1:1"`, '1073741824x30'),
    ],
    checks: quiet('12m', '25m'),
  },
  {
    alert: 'HighActiveHandles',
    kind: 'fires',
    title: '20000 handles',
    series: [gauge('chatim_nodejs_active_handles_total', `job="${GW}",instance="127.0.0.1:1"`, '20000x30')],
    checks: firesAfter('9m', '12m', {
      labels: { job: GW, instance: '127.0.0.1:1', service: GW, severity: 'warning' },
      annotations: {
        summary: `Too many active handles on ${GW}`,
        description: `${GW} holds 20000 active libuv handles (sockets, servers, timers) (threshold 10000): something is leaking connections or timers.`,
      },
    }),
  },
  {
    alert: 'HighActiveHandles',
    kind: 'quiet on healthy data',
    title: '40 handles',
    series: [gauge('chatim_nodejs_active_handles_total', `job="${GW}",instance="127.0.0.1:1"`, '40x30')],
    checks: quiet('12m', '25m'),
  },
  {
    alert: 'HighActiveHandles',
    kind: 'quiet on borderline data',
    title: 'exactly 10000',
    series: [gauge('chatim_nodejs_active_handles_total', `job="${GW}",instance="127.0.0.1:1"`, '10000x30')],
    checks: quiet('12m', '25m'),
  },
  {
    alert: 'HighEventLoopLag',
    kind: 'fires',
    title: 'p99 event-loop delay of 500 ms',
    series: [
      gauge('chatim_nodejs_eventloop_lag_p99_seconds', `job="${GW}",instance="127.0.0.1:1"`, '0.5x30'),
    ],
    checks: firesAfter('4m', '7m', {
      labels: { job: GW, instance: '127.0.0.1:1', service: GW, severity: 'warning' },
      annotations: {
        summary: `Event loop blocked on ${GW}`,
        description: `p99 event-loop delay of ${GW} is 500ms (threshold 100ms): every request on it waits that long.`,
      },
    }),
  },
  {
    alert: 'HighEventLoopLag',
    kind: 'quiet on healthy data',
    title: 'p99 of 12 ms',
    series: [
      gauge('chatim_nodejs_eventloop_lag_p99_seconds', `job="${GW}",instance="127.0.0.1:1"`, '0.012x30'),
    ],
    checks: quiet('7m', '25m'),
  },
  {
    alert: 'HighEventLoopLag',
    kind: 'quiet on borderline data',
    title: 'exactly 100 ms, and a 3-minute spike to 2 s',
    series: [
      gauge('chatim_nodejs_eventloop_lag_p99_seconds', `job="${GW}",instance="127.0.0.1:1"`, '0.1x30'),
      gauge('chatim_nodejs_eventloop_lag_p99_seconds', `job="${MS}",instance="127.0.0.1:2"`, '2x3 0.01x27'),
    ],
    checks: quiet('2m', '7m', '25m'),
  },
  {
    alert: 'ServiceDown',
    kind: 'fires',
    title: 'a target stops answering',
    series: [gauge('up', `job="${MS}",instance="127.0.0.1:3"`, '1 1 0x28')],
    checks: [
      { at: '2m', firing: [] },
      {
        at: '4m',
        firing: [
          {
            labels: { job: MS, instance: '127.0.0.1:3', service: MS, severity: 'critical' },
            annotations: {
              summary: `${MS} is down`,
              description: `Prometheus could not scrape 127.0.0.1:3 (${MS}) for at least a minute.`,
            },
          },
        ],
      },
    ],
  },
  {
    alert: 'ServiceDown',
    kind: 'quiet on healthy data',
    title: 'every scrape succeeds',
    series: [gauge('up', `job="${MS}",instance="127.0.0.1:3"`, '1x30')],
    checks: quiet('4m', '25m'),
  },
  {
    alert: 'ServiceDown',
    kind: 'quiet on borderline data',
    title: 'one failed scrape',
    series: [gauge('up', `job="${MS}",instance="127.0.0.1:3"`, '1 1 0 1x27')],
    checks: quiet('2m', '3m', '4m', '25m'),
  },
  {
    alert: 'DependencyDown',
    kind: 'fires',
    title: 'Redis and PostgreSQL unreachable',
    series: [
      gauge('redis_up', 'job="redis",instance="127.0.0.1:4"', '1 1 0x28'),
      gauge('pg_up', 'job="postgres",instance="127.0.0.1:5"', '1 1 0x28'),
    ],
    checks: [
      { at: '2m', firing: [] },
      {
        at: '4m',
        firing: [
          {
            labels: {
              job: 'redis',
              instance: '127.0.0.1:4',
              service: 'redis',
              dependency: 'redis',
              severity: 'critical',
            },
            annotations: {
              summary: 'redis unreachable',
              description:
                'redis cannot reach redis (the exporter connects through the same path as the services) for at least a minute.',
            },
          },
          {
            labels: {
              job: 'postgres',
              instance: '127.0.0.1:5',
              service: 'postgres',
              dependency: 'postgresql',
              severity: 'critical',
            },
            annotations: {
              summary: 'postgresql unreachable',
              description:
                'postgres cannot reach postgresql (the exporter connects through the same path as the services) for at least a minute.',
            },
          },
        ],
      },
    ],
  },
  {
    alert: 'DependencyDown',
    kind: 'quiet on healthy data',
    title: 'both dependencies up',
    series: [
      gauge('redis_up', 'job="redis",instance="127.0.0.1:4"', '1x30'),
      gauge('pg_up', 'job="postgres",instance="127.0.0.1:5"', '1x30'),
    ],
    checks: quiet('4m', '25m'),
  },
  {
    alert: 'DependencyDown',
    kind: 'quiet on borderline data',
    title: 'Redis unreachable for one scrape',
    series: [
      gauge('redis_up', 'job="redis",instance="127.0.0.1:4"', '1 1 0 1x27'),
      gauge('pg_up', 'job="postgres",instance="127.0.0.1:5"', '1x30'),
    ],
    checks: quiet('3m', '4m', '25m'),
  },
];

/** A promtool `test rules` file for one profile: every case, scaled to the profile's timeline. */
export function promtoolTests(
  profile: RuleProfile,
  ruleFile: string,
  cases: readonly AlertCase[] = ALERT_CASES,
) {
  const t = profile.scale;
  const windowOf = (alert: string) => {
    const w = ALERTS.find((a) => a.name === alert)?.window;
    return w ? t(w) : '';
  };
  return {
    rule_files: [ruleFile],
    evaluation_interval: t('1m'),
    tests: cases.map((c) => ({
      name: `${c.alert}: ${c.kind}: ${c.title}`,
      interval: t('1m'),
      input_series: c.series.map((s) => ({ series: s.series, values: s.values })),
      alert_rule_test: c.checks.map((check) => ({
        eval_time: t(check.at),
        alertname: c.alert,
        exp_alerts: check.firing.map((a) => ({
          exp_labels: a.labels,
          exp_annotations: {
            summary: a.annotations.summary,
            description: a.annotations.description.replaceAll('{{window}}', windowOf(c.alert)),
            runbook_url: runbookUrl(c.alert),
          },
        })),
      })),
    })),
  };
}
