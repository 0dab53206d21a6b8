import {
  LegendDisplayMode,
  LegendPlacement,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import {
  histogramQuantile,
  maxBy,
  meanOver,
  type PromQL,
  rate,
  selector,
  shareOf,
  sumBy,
  times,
  up,
} from '../../slo/promql.ts';
import { type METRICS, RUNTIME_METRICS } from '../../system-under-test/kit/metrics.ts';

/**
 * The Grafana dashboards as typed data: each panel names its queries, built only with the
 * slo/promql.ts builders. `render()` turns them into dashboard JSON with the foundation SDK
 * (monitoring/grafana/dashboards/*.json, generated); a test runs every query against a real
 * Prometheus after real traffic and fails on any panel that would show "No data".
 */

export interface PanelQuery {
  readonly expr: PromQL;
  readonly legend: string;
}

export interface PanelDef {
  readonly title: string;
  readonly unit: string;
  readonly queries: readonly PanelQuery[];
  readonly description?: string;
}

export interface DashboardDef {
  readonly uid: string;
  readonly title: string;
  readonly rows: readonly { readonly title: string; readonly panels: readonly PanelDef[] }[];
}

const m = (name: keyof typeof METRICS) => name;
const all = (name: keyof typeof METRICS) => selector(m(name));
const W = '1m' as const;

/** Shares of failures, 0 (not "no data") while there are none. */
const httpErrorRatio = shareOf(m('chatim_http_requests_total'), [['status', '=~', '5..']], ['job'], W, {
  zeroFill: true,
});
const sendFailureRatio = shareOf(m('chatim_messages_sent_total'), [['status', '=', 'failed']], ['type'], W, {
  zeroFill: true,
});

const latency = (metric: keyof typeof METRICS, by: string[], legend: string): PanelQuery[] =>
  [0.5, 0.95, 0.99].map((q) => ({
    expr: histogramQuantile(q, m(metric), by, W),
    legend: `p${q * 100} ${legend}`,
  }));

export const DASHBOARDS: readonly DashboardDef[] = [
  {
    uid: 'chatim-overview',
    title: 'ChatIM / Overview',
    rows: [
      {
        title: 'Traffic and errors',
        panels: [
          {
            title: 'HTTP requests per second',
            unit: 'reqps',
            queries: [
              { expr: sumBy(['job'], rate(all('chatim_http_requests_total'), W)), legend: '{{job}}' },
            ],
          },
          {
            title: 'HTTP 5xx ratio',
            unit: 'percentunit',
            description: 'HighHTTPErrorRate fires above 5% (production: over 5m, for 5m).',
            queries: [{ expr: httpErrorRatio, legend: '{{job}}' }],
          },
          {
            title: 'HTTP latency',
            unit: 's',
            queries: latency('chatim_http_request_duration_seconds', ['job'], '{{job}}'),
          },
          {
            title: 'Targets up',
            unit: 'short',
            queries: [{ expr: up(), legend: '{{job}} {{instance}}' }],
          },
        ],
      },
      {
        title: 'Real time',
        panels: [
          {
            title: 'Open WebSockets',
            unit: 'short',
            queries: [
              { expr: sumBy([], all('chatim_websocket_active_connections')), legend: 'sockets' },
              { expr: sumBy([], all('chatim_online_users')), legend: 'online users' },
            ],
          },
          {
            title: 'Messages sent per minute',
            unit: 'short',
            queries: [
              {
                expr: times(sumBy(['type'], rate(all('chatim_messages_sent_total'), W)), 60),
                legend: '{{type}}',
              },
            ],
          },
        ],
      },
      {
        title: 'Runtime',
        panels: [
          {
            title: 'V8 heap used',
            unit: 'bytes',
            description: 'HighMemoryUsage fires above 1 GiB.',
            queries: [{ expr: selector(RUNTIME_METRICS.heapUsed), legend: '{{job}}' }],
          },
          {
            title: 'Event-loop delay p99',
            unit: 's',
            description: 'HighEventLoopLag fires above 100 ms.',
            queries: [{ expr: selector(RUNTIME_METRICS.eventLoopLagP99), legend: '{{job}}' }],
          },
          {
            title: 'Active handles',
            unit: 'short',
            description: 'HighActiveHandles fires above 10000.',
            queries: [{ expr: selector(RUNTIME_METRICS.activeHandles), legend: '{{job}}' }],
          },
        ],
      },
    ],
  },
  {
    uid: 'chatim-messages',
    title: 'ChatIM / Message Service',
    rows: [
      {
        title: 'Sends',
        panels: [
          {
            title: 'Sends per second by type and status',
            unit: 'ops',
            queries: [
              {
                expr: sumBy(['type', 'status'], rate(all('chatim_messages_sent_total'), W)),
                legend: '{{type}} {{status}}',
              },
            ],
          },
          {
            title: 'Send failure ratio',
            unit: 'percentunit',
            description: 'HighMessageSendFailureRate fires above 10%.',
            queries: [{ expr: sendFailureRatio, legend: '{{type}}' }],
          },
          {
            title: 'Send duration (durable in Redis)',
            unit: 's',
            queries: latency('chatim_message_send_duration_seconds', ['type'], '{{type}}'),
          },
          {
            title: 'Mean send duration',
            unit: 's',
            queries: [
              { expr: meanOver(m('chatim_message_send_duration_seconds'), ['type'], W), legend: '{{type}}' },
            ],
          },
          {
            title: 'Fan-out: inbox streams written per send (p95)',
            unit: 'short',
            queries: [
              {
                expr: histogramQuantile(0.95, m('chatim_message_fanout_recipients'), ['type'], W),
                legend: '{{type}}',
              },
            ],
          },
        ],
      },
      {
        title: 'Delivery',
        panels: [
          {
            title: 'Push frames per second',
            unit: 'ops',
            queries: [
              {
                expr: sumBy(['type', 'status'], rate(all('chatim_websocket_messages_pushed_total'), W)),
                legend: '{{type}} {{status}}',
              },
            ],
          },
          {
            title: 'Messages pulled per second',
            unit: 'ops',
            queries: [
              { expr: sumBy(['type'], rate(all('chatim_messages_pulled_total'), W)), legend: '{{type}}' },
            ],
          },
        ],
      },
      {
        title: 'Persistence',
        panels: [
          {
            title: 'Persist backlog',
            unit: 'short',
            description: 'RedisStreamBacklog fires above 1000 for 10 minutes.',
            queries: [
              {
                expr: sumBy(['stream', 'state'], all('chatim_redis_stream_pending_messages')),
                legend: '{{stream}} {{state}}',
              },
            ],
          },
          {
            title: 'Persist worker outcomes per second',
            unit: 'ops',
            queries: [
              {
                expr: sumBy(['status'], rate(all('chatim_persist_messages_total'), W)),
                legend: '{{status}}',
              },
            ],
          },
          {
            title: 'Persist batch duration',
            unit: 's',
            queries: latency('chatim_persist_batch_duration_seconds', [], 'batch'),
          },
        ],
      },
    ],
  },
  {
    uid: 'chatim-performance',
    title: 'ChatIM / Performance',
    rows: [
      {
        title: 'HTTP',
        panels: [
          {
            title: 'HTTP latency by route (p95)',
            unit: 's',
            queries: [
              {
                expr: histogramQuantile(0.95, m('chatim_http_request_duration_seconds'), ['job', 'route'], W),
                legend: '{{job}} {{route}}',
              },
            ],
          },
          {
            title: 'Mean HTTP latency',
            unit: 's',
            queries: [
              { expr: meanOver(m('chatim_http_request_duration_seconds'), ['job'], W), legend: '{{job}}' },
            ],
          },
          {
            title: 'Gateway → backend calls (p95)',
            unit: 's',
            queries: [
              {
                expr: histogramQuantile(0.95, m('chatim_internal_request_duration_seconds'), ['target'], W),
                legend: '{{target}}',
              },
            ],
          },
        ],
      },
      {
        title: 'Redis',
        panels: [
          {
            title: 'Redis operation latency (p95)',
            unit: 's',
            queries: [
              {
                expr: histogramQuantile(0.95, m('chatim_redis_operation_duration_seconds'), ['operation'], W),
                legend: '{{operation}}',
              },
            ],
          },
          {
            title: 'Redis connections',
            unit: 'short',
            queries: [
              {
                expr: sumBy(['job', 'role', 'state'], all('chatim_redis_connections')),
                legend: '{{job}} {{role}} {{state}}',
              },
            ],
          },
        ],
      },
      {
        title: 'PostgreSQL',
        panels: [
          {
            title: 'Query latency (p95)',
            unit: 's',
            queries: [
              {
                expr: histogramQuantile(
                  0.95,
                  m('chatim_db_query_duration_seconds'),
                  ['operation', 'table'],
                  W,
                ),
                legend: '{{operation}} {{table}}',
              },
            ],
          },
          {
            title: 'Connection pool',
            unit: 'short',
            queries: [
              {
                expr: maxBy(['job', 'state'], all('chatim_db_connection_pool')),
                legend: '{{job}} {{state}}',
              },
            ],
          },
        ],
      },
    ],
  },
];

const DATASOURCE = { type: 'prometheus', uid: 'prometheus' };

export function renderDashboard(def: DashboardDef) {
  const dashboard = new DashboardBuilder(def.title)
    .uid(def.uid)
    .description(
      'Generated by chatim-slo from monitoring/grafana/dashboards.ts (npm run gen). Do not edit here.',
    )
    .tags(['chatim', 'generated'])
    .refresh('10s')
    .time({ from: 'now-30m', to: 'now' })
    .timezone('browser');
  for (const row of def.rows) {
    dashboard.withRow(new RowBuilder(row.title));
    for (const panel of row.panels) {
      const builder = new PanelBuilder()
        .title(panel.title)
        .unit(panel.unit)
        .datasource(DATASOURCE)
        .height(8)
        .span(8)
        .legend(
          new VizLegendOptionsBuilder()
            .showLegend(true)
            .displayMode(LegendDisplayMode.List)
            .placement(LegendPlacement.Bottom),
        );
      if (panel.description) builder.description(panel.description);
      panel.queries.forEach((q, i) => {
        builder.withTarget(
          new DataqueryBuilder()
            .expr(q.expr)
            .legendFormat(q.legend)
            .refId(String.fromCharCode(65 + i)),
        );
      });
      dashboard.withPanel(builder);
    }
  }
  return dashboard.build();
}
