/**
 * PLACEHOLDER — the load driver's metric names, as the client-side SLOs and the client/server
 * cross-checks expect them in Prometheus. The load-driver issue fills this module in: it replaces
 * these names with the series its driver really writes (and sets CLIENT_METRICS_PLACEHOLDER to
 * false). Until then no such series exist, so every client SLO is *inconclusive* (never pass) and
 * every cross-check reports "not checked".
 *
 * Shape per metric: the Prometheus name, its type, its label names and the values of its enum-like
 * labels (the validator checks the SLO files' matchers against them, as it does for the server
 * metrics of system-under-test/kit/metrics.ts).
 */
export const CLIENT_METRICS_PLACEHOLDER = true;

export interface ClientMetricSpec {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly labelNames: readonly string[];
  /** Values of enum-like labels, as in system-under-test/kit/metrics.ts (the validator checks matchers). */
  readonly labelValues?: Readonly<Record<string, readonly string[]>>;
  readonly help: string;
}

export const CLIENT_METRICS = {
  chatim_client_http_requests_total: {
    type: 'counter',
    labelNames: ['scenario', 'route', 'status'],
    help: 'HTTP requests the load driver sent, by route template and status code',
  },
  chatim_client_messages_sent_total: {
    type: 'counter',
    labelNames: ['scenario', 'type', 'status'],
    labelValues: { type: ['private', 'group'], status: ['success', 'failed'] },
    help: 'Messages the load driver sent, by type and status (success, failed)',
  },
  chatim_client_messages_lost_total: {
    type: 'counter',
    labelNames: ['scenario', 'type'],
    labelValues: { type: ['private', 'group'] },
    help: 'Messages sent successfully that no recipient received before the delivery deadline',
  },
  chatim_client_delivery_latency_seconds: {
    type: 'histogram',
    labelNames: ['scenario', 'type'],
    labelValues: { type: ['private', 'group'] },
    help: 'Send accepted to push received at the recipient (client clock)',
  },
  chatim_client_ws_connects_total: {
    type: 'counter',
    labelNames: ['scenario', 'status'],
    labelValues: { status: ['success', 'failed'] },
    help: 'WebSocket connection attempts by outcome (success, failed)',
  },
} as const satisfies Record<string, ClientMetricSpec>;

export type ClientMetricName = keyof typeof CLIENT_METRICS;
