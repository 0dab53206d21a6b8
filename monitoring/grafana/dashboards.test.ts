import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPOSE_FILES } from '../../harness/compose/render.ts';
import { coreComponents } from '../../harness/stack/native/core-components.ts';
import { NativeStackRuntime } from '../../harness/stack/native/runtime.ts';
import { SUT_JOBS, sutComponents } from '../../harness/stack/native/sut-components.ts';
import type { StartedStack } from '../../harness/stack/types.ts';
import { PACKAGE_ROOT } from '../../harness/util/paths.ts';
import { PrometheusClient } from '../../slo/prometheus-client.ts';
import { type PromQL, rate, ratio, selector, sumBy } from '../../slo/promql.ts';
import { ChatFlow } from '../../test/support/chat-flow.ts';
import { waitForScrape } from '../../test/support/stack.ts';
import { DASHBOARDS } from './dashboards.ts';

interface PanelJson {
  type: string;
  title: string;
  targets?: { expr: string; refId: string }[];
}

/** Every panel of the committed dashboard JSON (what Grafana would load), with its queries. */
async function committedPanels(): Promise<{ dashboard: string; panel: PanelJson }[]> {
  const dir = path.join(PACKAGE_ROOT, COMPOSE_FILES.grafanaDashboards);
  const out: { dashboard: string; panel: PanelJson }[] = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()) {
    const json = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as {
      title: string;
      panels: PanelJson[];
    };
    for (const panel of json.panels) if (panel.type !== 'row') out.push({ dashboard: json.title, panel });
  }
  return out;
}

describe('Grafana dashboards', () => {
  it('are generated for every dashboard definition, each panel with at least one query', async () => {
    const panels = await committedPanels();
    expect(new Set(panels.map((p) => p.dashboard))).toEqual(new Set(DASHBOARDS.map((d) => d.title)));
    for (const { panel } of panels) expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
  });

  describe('after real traffic on the native stack', () => {
    let stack: StartedStack;
    let prom: PrometheusClient;
    let flow: ChatFlow;

    beforeAll(async () => {
      stack = await new NativeStackRuntime(() => [...coreComponents(), ...sutComponents()]).start({
        readyTimeoutMs: 60_000,
      });
      prom = new PrometheusClient(stack.endpoints.prometheus.url);
      flow = new ChatFlow(`http://127.0.0.1:${stack.component('gateway').ports.main}`);
      // Two rounds of traffic with a scrape in between and after, so every counter and histogram has
      // grown between two samples (what rate() needs), as it would under continuous traffic.
      const jobs = Object.values(SUT_JOBS);
      for (let round = 0; round < 2; round++) {
        const result = await flow.run({ pairs: 3, perPair: 8, group: 4 });
        expect(result.sent).toBe(3 * 8 + 4);
        await waitForScrape(prom, jobs, Date.now());
      }
    });
    afterAll(async () => {
      flow?.close();
      await stack?.stop();
    });

    it('gives every panel query data (no panel would show "No data")', async () => {
      const panels = await committedPanels();
      expect(await panelsWithoutData(prom, panels)).toEqual([]);
      expect(panels.flatMap((p) => p.panel.targets ?? []).length).toBeGreaterThan(20);
    });

    it('flags panels without data (negative control: a missing metric, a ratio without zero fill)', async () => {
      const bogus: { dashboard: string; panel: PanelJson }[] = [
        {
          dashboard: 'test',
          panel: {
            type: 'timeseries',
            title: 'missing',
            targets: [{ expr: 'chatim_no_such_metric', refId: 'A' }],
          },
        },
        {
          dashboard: 'test',
          panel: {
            type: 'timeseries',
            title: '5xx ratio, no zero fill',
            targets: [
              {
                expr: ratio(
                  sumBy(
                    ['job'],
                    rate(selector('chatim_http_requests_total', [['status', '=~', '5..']]), '1m'),
                  ),
                  sumBy(['job'], rate(selector('chatim_http_requests_total'), '1m')),
                ),
                refId: 'A',
              },
            ],
          },
        },
      ];
      expect(await panelsWithoutData(prom, bogus)).toEqual([
        'test / missing [A]: chatim_no_such_metric',
        expect.stringContaining('test / 5xx ratio, no zero fill [A]'),
      ]);
    });
  });
});

async function panelsWithoutData(
  prom: PrometheusClient,
  panels: readonly { dashboard: string; panel: PanelJson }[],
): Promise<string[]> {
  const empty: string[] = [];
  for (const { dashboard, panel } of panels) {
    for (const target of panel.targets ?? []) {
      const samples = await prom.instantQuery(target.expr as PromQL);
      if (!samples.some((s) => Number.isFinite(s.value))) {
        empty.push(`${dashboard} / ${panel.title} [${target.refId}]: ${target.expr}`);
      }
    }
  }
  return empty;
}
