/**
 * The label values of the metrics catalogues (`labelValues` in system-under-test/kit/metrics.ts and
 * slo/client-metrics.ts) agree with the code that emits them and with every filter that uses them:
 * the SLO validator rejects a matcher on a value outside these lists, so a list that misses a value
 * the code emits would reject a correct SLO, and a filter on a value the code never emits would
 * select nothing (a `bad` filter that matches nothing passes a ratio SLI at 100%).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../harness/util/paths.ts';
import { ALERTS } from '../monitoring/rules/alerts.ts';
import { METRICS } from '../system-under-test/kit/metrics.ts';
import { CLIENT_METRICS } from './client-metrics.ts';
import { DEFINITIONS_DIR, loadDefinitionsOrThrow, unknownLabelValue } from './definitions.ts';
import type { Duration, LabelMatcher } from './promql.ts';

type Spec = { labelNames: readonly string[]; labelValues?: Readonly<Record<string, readonly string[]>> };
const catalogue: [string, Spec][] = [...Object.entries(METRICS), ...Object.entries(CLIENT_METRICS)];
const valuesOf = (metric: string, label: string): readonly string[] | undefined =>
  (catalogue.find(([n]) => n === metric)?.[1] as Spec | undefined)?.labelValues?.[label];
const read = (p: string) => readFileSync(path.join(PACKAGE_ROOT, p), 'utf8');

describe('label values of the metrics catalogues', () => {
  it('are listed only for labels the metric has, non-empty and without repeats', () => {
    const listed = catalogue.filter(([, s]) => s.labelValues);
    expect(listed.map(([n]) => n)).toEqual(
      expect.arrayContaining(['chatim_messages_sent_total', 'chatim_message_send_duration_seconds']),
    );
    for (const [name, spec] of listed) {
      for (const [label, values] of Object.entries(spec.labelValues!)) {
        expect(spec.labelNames, `${name}{${label}}`).toContain(label);
        expect(values.length, `${name}{${label}}`).toBeGreaterThan(0);
        expect(new Set(values).size, `${name}{${label}}`).toBe(values.length);
        for (const v of values) expect(v, `${name}{${label}}`).toMatch(/^[A-Za-z0-9_:/-]+$/);
      }
    }
  });

  it('are exactly what the message-service emits for chatim_messages_sent_total and the send duration', () => {
    const code = read('system-under-test/message-service/app.ts');
    const union = /type MsgType = ((?:'[a-z_]+'(?: \| )?)+);/.exec(code);
    expect(union, 'type MsgType = … in message-service/app.ts').not.toBeNull();
    const types = [...union![1]!.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]).sort();
    expect([...valuesOf('chatim_messages_sent_total', 'type')!].sort()).toEqual(types);
    expect([...valuesOf('chatim_message_send_duration_seconds', 'type')!].sort()).toEqual(types);

    const counter =
      /const (\w+) = counterChildren\(deps\.metrics\.get\('chatim_messages_sent_total'\), \['type', 'status'\]\)/.exec(
        code,
      );
    expect(counter, 'the chatim_messages_sent_total children in message-service/app.ts').not.toBeNull();
    const statuses = [
      ...code.matchAll(new RegExp(`\\b${counter![1]}\\.get\\(\\w+, '([a-z_]+)'\\)`, 'g')),
    ].map((m) => m[1]);
    expect(statuses.length).toBeGreaterThan(0);
    expect([...valuesOf('chatim_messages_sent_total', 'status')!].sort()).toEqual(
      [...new Set(statuses)].sort(),
    );
  });

  it('cover every value the SLO definitions and the alert rules filter on', async () => {
    const checked: string[] = [];
    const problems: string[] = [];
    const check = (metric: string, [label, op, value]: LabelMatcher, where: string) => {
      const allowed = valuesOf(metric.replace(/_(bucket|count|sum)$/, ''), label);
      if (!allowed) return;
      checked.push(`${where}: ${metric}{${label}${op}"${value}"}`);
      const wrong = unknownLabelValue(op, value, allowed);
      if (wrong) problems.push(`${where}: ${metric}{${label}}: ${wrong}`);
    };
    for (const d of await loadDefinitionsOrThrow(path.join(PACKAGE_ROOT, DEFINITIONS_DIR))) {
      const refs = d.sli.kind === 'ratio' ? [d.sli.good, d.sli.bad, d.sli.total] : [d.sli.source];
      for (const r of refs) for (const m of r?.matchers ?? []) check(r!.metric, m, d.name);
    }
    for (const alert of ALERTS) {
      for (const variant of alert.variants) {
        const expr = variant.expr((w: Duration) => w);
        for (const sel of expr.matchAll(/\b([a-z_:][a-z0-9_:]*)\{([^}]*)\}/g)) {
          for (const m of sel[2]!.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
            check(sel[1]!, [m[1]!, m[2] as LabelMatcher[1], JSON.parse(`"${m[3]}"`) as string], alert.name);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    // Not vacuous: the SLO's bad filter and the alert's are among the checked matchers.
    expect(checked).toEqual(
      expect.arrayContaining([
        'send-failure-ratio: chatim_messages_sent_total{status="failed"}',
        'HighMessageSendFailureRate: chatim_messages_sent_total{status="failed"}',
      ]),
    );
    // Negative control: the typo the validator exists for.
    expect(unknownLabelValue('=', 'fail', valuesOf('chatim_messages_sent_total', 'status')!)).toMatch(
      /no such value "fail"/,
    );
  });
});
