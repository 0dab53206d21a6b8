import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { toolByName } from '../harness/tools/manifest.ts';
import { exec } from '../harness/util/exec.ts';
import { PACKAGE_ROOT } from '../harness/util/paths.ts';
import { DEFINITIONS_DIR, loadDefinitionsOrThrow } from './definitions.ts';
import { eventsOver, type PromQL, quantileSli, ratioSli, slopeSli } from './promql.ts';
import { CROSS_CHECKS, queriesOf } from './verifier.ts';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'chatim-slo-promql-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Every query as a recording rule, checked by the real promtool (the Prometheus parser). */
async function promtoolCheck(queries: readonly { record: string; expr: PromQL }[]) {
  const file = path.join(scratch, `rules-${queries.length}-${Date.now()}.yml`);
  await writeFile(file, stringify({ groups: [{ name: 'slo-queries', rules: queries }] }));
  return exec(toolByName('promtool').binary, ['check', 'rules', file], { cwd: PACKAGE_ROOT });
}

async function allQueries() {
  const out: { record: string; expr: PromQL }[] = [];
  for (const d of await loadDefinitionsOrThrow(path.join(PACKAGE_ROOT, DEFINITIONS_DIR))) {
    for (const [window, step] of [
      ['5m', '15s'],
      ['90s', '1s'],
    ] as const) {
      for (const [purpose, expr] of Object.entries(queriesOf(d, window, step))) {
        out.push({
          record: `slo:${d.name.replaceAll('-', '_')}:${purpose.replace(/[^a-zA-Z]/g, '_')}_${window}`,
          expr,
        });
      }
    }
  }
  for (const c of CROSS_CHECKS) {
    out.push({
      record: `slo:crosscheck_${c.name.replaceAll('-', '_')}:client`,
      expr: eventsOver(c.client, '5m'),
    });
    out.push({
      record: `slo:crosscheck_${c.name.replaceAll('-', '_')}:server`,
      expr: eventsOver(c.server, '5m'),
    });
  }
  return out;
}

describe('SLO queries', () => {
  it('all parse with promtool (every definition, every purpose, two windows, and the cross-checks)', async () => {
    const queries = await allQueries();
    expect(queries.length).toBeGreaterThan(80);
    const r = await promtoolCheck(queries);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${queries.length} rules found`);
  });

  it('fail promtool when one is broken (negative control)', async () => {
    const queries = [
      ...(await allQueries()).slice(0, 3),
      { record: 'slo:broken', expr: 'sum(rate(x[5m])' as PromQL },
    ];
    const r = await promtoolCheck(queries);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/parse error|unclosed/i);
  });

  it('are pinned to the window and read as intended', () => {
    const job = ['job', '=', 'chatim-message-service'] as const;
    expect(
      ratioSli(
        {
          bad: { metric: 'chatim_messages_sent_total', matchers: [job, ['status', '=', 'failed']] },
          total: { metric: 'chatim_messages_sent_total', matchers: [job] },
        },
        '10m',
      ),
    ).toBe(
      '1 - ((sum(increase(chatim_messages_sent_total{job="chatim-message-service",status="failed"}[10m]))) or (sum(increase(chatim_messages_sent_total{job="chatim-message-service"}[10m])) * 0)) / (sum(increase(chatim_messages_sent_total{job="chatim-message-service"}[10m])))',
    );
    expect(
      quantileSli(0.99, { metric: 'chatim_message_send_duration_seconds', matchers: [job] }, '90s'),
    ).toBe(
      'histogram_quantile(0.99, sum by (le) (rate(chatim_message_send_duration_seconds_bucket{job="chatim-message-service"}[90s])))',
    );
    expect(
      slopeSli({ metric: 'chatim_redis_stream_pending_messages', matchers: [job] }, '1h', '15s', true),
    ).toBe('deriv((sum(chatim_redis_stream_pending_messages{job="chatim-message-service"}))[1h:15s])');
  });
});
