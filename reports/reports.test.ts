import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../harness/exit-codes.ts';
import { PACKAGE_ROOT } from '../harness/util/paths.ts';
import type { PromQL } from '../slo/promql.ts';
import type { SloResult, VerifyResult } from '../slo/verifier.ts';
import { VERDICT_SCHEMA_VERSION, verdictJson, writeVerdictJson } from './json.ts';
import { junitXml, writeJunitXml, xmlEscape } from './junit.ts';

const RUN = { runId: 'run-<1>', scenario: 'chat & co', profile: 'gate' };

function slo(
  name: string,
  verdict: SloResult['verdict'],
  measured: number | null,
  reasons: string[] = [],
): SloResult {
  return {
    name,
    displayName: `${name} "quoted" <display>`,
    measuredAt: 'server',
    unit: 'seconds',
    verdict,
    reasons,
    measured,
    objective: { kind: 'threshold', displayName: 'p95 ≤ 100 ms & steady', op: 'lte', value: 0.1 },
    errorBudgetUsed: measured === null ? null : measured / 0.1,
    baseline: { status: 'no-baseline', message: 'no baseline yet' },
    window: { start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T00:01:00.000Z', seconds: 60 },
    queries: { sli: 'histogram_quantile(0.95, x{a="<b>"})' as PromQL },
  };
}

const RESULT: VerifyResult = {
  window: {
    start: '2026-01-01T00:00:00.000Z',
    end: '2026-01-01T00:01:00.000Z',
    warmUpSeconds: 0,
    coolDownSeconds: 0,
  },
  slos: [
    slo('a-pass', 'pass', 0.05),
    slo('b-fail', 'fail', Number.POSITIVE_INFINITY, ['objective missed: Infinity']),
    slo('c-inconclusive', 'inconclusive', Number.NaN, ["no data: the SLI is NaN <0/0> & 'so on'\u0007"]),
    slo('d-inconclusive', 'inconclusive', null, ['missing series']),
  ],
  crossChecks: [
    {
      name: 'http-requests',
      status: 'not checked',
      client: null,
      server: null,
      difference: null,
      tolerance: 0.05,
      message: 'not checked: no client series in the window',
    },
    {
      name: 'messages-sent',
      status: 'disagree',
      client: 10,
      server: 5,
      difference: 0.5,
      tolerance: 0.05,
      message: 'client 10 vs server 5',
    },
    {
      name: 'server-gone',
      status: 'error',
      client: 10,
      server: null,
      difference: null,
      tolerance: 0.05,
      message: 'error: Prometheus answered 422 <bad>',
    },
  ],
  overall: 'fail',
  exitCode: ExitCode.SloFailed,
  elapsedMs: 1234,
};

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'chatim-slo-reports-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Minimal well-formedness check: balanced tags, and no raw < or & outside markup and entities. */
function wellFormed(xml: string): string[] {
  const problems: string[] = [];
  const body = xml.replace(/^<\?xml[^?]*\?>\n/, '');
  const stack: string[] = [];
  const tag =
    /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w:-]+="[^"<&]*(?:&(?:amp|lt|gt|quot|apos);[^"<&]*)*")*)\s*(\/?)>/g;
  let last = 0;
  for (const m of body.matchAll(tag)) {
    const text = body.slice(last, m.index);
    if (/<|&(?!(amp|lt|gt|quot|apos);)/.test(text)) problems.push(`raw markup in text: ${text.slice(0, 60)}`);
    last = m.index + m[0].length;
    const [, close, name, , selfClose] = m;
    if (close) {
      if (stack.pop() !== name) problems.push(`unbalanced </${name}>`);
    } else if (!selfClose) stack.push(name!);
  }
  if (/<|&(?!(amp|lt|gt|quot|apos);)/.test(body.slice(last))) problems.push('raw markup after the last tag');
  if (stack.length) problems.push(`unclosed: ${stack.join(', ')}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for characters XML 1.0 forbids
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(xml)) problems.push('forbidden control character');
  return problems;
}

describe('verdict.json', () => {
  it('carries the schema version, the exit code name and non-finite numbers as Prometheus strings', async () => {
    const file = await writeVerdictJson(scratch, RUN, RESULT, new Date(0));
    const json = JSON.parse(await readFile(file, 'utf8'));
    expect(json).toMatchObject({
      schemaVersion: VERDICT_SCHEMA_VERSION,
      run: RUN,
      generatedAt: '1970-01-01T00:00:00.000Z',
      overall: 'fail',
      exitCode: 1,
      exitCodeName: 'SloFailed',
    });
    expect(json.slos.map((s: { measured: unknown }) => s.measured)).toEqual([0.05, '+Inf', 'NaN', null]);
    expect(json.slos[1].errorBudgetUsed).toBe('+Inf');
    expect(json.crossChecks[1].status).toBe('disagree');
    expect(json.crossChecks[2]).toMatchObject({ status: 'error', client: 10, server: null });
  });

  it('has every field documented in docs/slos.md (and the check catches an undocumented one)', async () => {
    const doc = (await readFile(path.join(PACKAGE_ROOT, 'docs', 'slos.md'), 'utf8'))
      .split('## `verdict.json`')[1]!
      .split('\n## ')[0]!;
    const documented = (key: string) =>
      [`\`${key}\``, `\`${key}[]\``, `\`slos[].${key}\``, `${key}[]`].some((form) => doc.includes(form));
    const v = verdictJson(RUN, RESULT, new Date(0));
    const keys = [...Object.keys(v), ...Object.keys(v.slos[0]!), ...Object.keys(v.crossChecks[0]!)];
    expect(keys.filter((k) => !documented(k))).toEqual([]);
    expect(documented('undocumentedField')).toBe(false);
    expect(doc).toContain(`\`schemaVersion\` is **${VERDICT_SCHEMA_VERSION}**`);
  });
});

describe('junit.xml', () => {
  it('has one testcase per SLO and per cross-check: failure for fail, error for inconclusive', async () => {
    const xml = await readFile(await writeJunitXml(scratch, RUN, RESULT), 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(7);
    expect(xml).toContain('tests="7" failures="1" errors="4" skipped="1"');
    const tc = (name: string) => xml.split(`name="${name}: `)[1]!.split('</testcase>')[0]!;
    expect(tc('a-pass')).not.toMatch(/<failure|<error|<skipped/);
    expect(tc('b-fail')).toMatch(
      /<failure type="slo-failed" message="Infinity seconds; objective p95 ≤ 100 ms &amp; steady; objective missed: Infinity">/,
    );
    expect(tc('c-inconclusive')).toMatch(/<error type="inconclusive" message="inconclusive: NaN seconds/);
    expect(tc('d-inconclusive')).toMatch(
      /<error type="inconclusive" message="inconclusive: no value; objective p95 ≤ 100 ms &amp; steady; missing series"/,
    );
    expect(xml).toMatch(
      /name="http-requests"[^>]*>\s*<skipped message="not checked: no client series in the window"\/>/,
    );
    expect(xml).toMatch(/name="messages-sent"[^>]*>\s*<error type="cross-check-disagreement"/);
    // A cross-check that could not be carried out is red, never a harmless-looking skip.
    expect(xml).toMatch(
      /name="server-gone"[^>]*>\s*<error type="cross-check-error" message="error: Prometheus answered 422 &lt;bad&gt;"\/>/,
    );
  });

  it('is well-formed XML with every text escaped (and the check catches raw markup)', () => {
    const xml = junitXml(RUN, RESULT);
    expect(wellFormed(xml)).toEqual([]);
    expect(xml).toContain('name="chatim-slo chat &amp; co/gate"');
    expect(xml).toContain('value="run-&lt;1&gt;"');
    expect(xml).toContain('&quot;quoted&quot; &lt;display&gt;');
    expect(xml).toContain('x{a=&quot;&lt;b&gt;&quot;}');
    expect(xml).toContain('&lt;0/0&gt; &amp; &apos;so on&apos;');
    // Negative controls for the checker itself.
    expect(wellFormed('<a><b>x < y</b></a>')).not.toEqual([]);
    expect(wellFormed('<a><b></a>')).not.toEqual([]);
    expect(wellFormed('<a t="x"y"/>')).not.toEqual([]);
    expect(wellFormed('<a>\u0007</a>')).not.toEqual([]);
  });

  it('escapes the five XML specials and drops forbidden control characters', () => {
    expect(xmlEscape(`<a href="x">&'\u0000\u001f\ttab`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;\ttab');
  });
});
