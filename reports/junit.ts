/**
 * junit.xml: one testcase per SLO (and, with the chaos issue, per alert expectation), so CI shows
 * each objective as a test. A fail is a <failure>; an inconclusive SLO is an <error type="inconclusive">:
 * in JUnit an error means "the test could not be carried out", which is exactly what inconclusive
 * means, and CI systems show it red — a <skipped> would look like a pass on most dashboards, and
 * inconclusive must never look like a pass. Cross-checks that disagree or could not be carried out
 * (status `error`) are errors too; only "not checked" ones (no client series: nothing to decide) are
 * skipped. docs/slos.md ("junit.xml") documents this.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunIdentity } from '../slo/baseline.ts';
import type { SloResult, VerifyResult } from '../slo/verifier.ts';

export const JUNIT_FILE = 'junit.xml';

/** Escapes text for XML attribute values and character data; drops characters XML 1.0 forbids. */
export function xmlEscape(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing the control characters XML 1.0 forbids
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

function objectiveText(s: SloResult): string {
  return s.objective.displayName;
}

function measuredText(s: SloResult): string {
  return s.measured === null ? 'no value' : `${s.measured} ${s.unit}`;
}

function details(s: SloResult): string {
  const lines = [
    `objective: ${objectiveText(s)}`,
    `measured: ${measuredText(s)}`,
    `window: ${s.window.start} .. ${s.window.end} (${s.window.seconds}s)`,
    ...s.reasons.map((r) => `- ${r}`),
    ...Object.entries(s.queries).map(([k, q]) => `${k}: ${q}`),
  ];
  return lines.join('\n');
}

export function junitXml(run: RunIdentity, result: VerifyResult): string {
  const a = xmlEscape;
  const failures = result.slos.filter((s) => s.verdict === 'fail').length;
  const errors =
    result.slos.filter((s) => s.verdict === 'inconclusive').length +
    result.crossChecks.filter((c) => c.status === 'disagree' || c.status === 'error').length;
  const skipped = result.crossChecks.filter((c) => c.status === 'not checked').length;
  const tests = result.slos.length + result.crossChecks.length;
  const time = (result.elapsedMs / 1000).toFixed(3);
  const suite = `chatim-slo ${run.scenario}/${run.profile}`;
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${a(suite)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time}">`,
    `  <testsuite name="${a(`${suite} SLOs`)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time}" timestamp="${a(result.window.end)}">`,
    '    <properties>',
    `      <property name="runId" value="${a(run.runId)}"/>`,
    `      <property name="overall" value="${a(result.overall)}"/>`,
    `      <property name="exitCode" value="${result.exitCode}"/>`,
    '    </properties>',
  ];
  for (const s of result.slos) {
    out.push(
      `    <testcase classname="slo.${a(s.measuredAt)}" name="${a(`${s.name}: ${s.displayName}`)}" time="0">`,
    );
    const summary = `${measuredText(s)}; objective ${objectiveText(s)}${s.reasons.length ? `; ${s.reasons.join('; ')}` : ''}`;
    if (s.verdict === 'fail') {
      out.push(`      <failure type="slo-failed" message="${a(summary)}">${a(details(s))}</failure>`);
    } else if (s.verdict === 'inconclusive') {
      out.push(
        `      <error type="inconclusive" message="${a(`inconclusive: ${summary}`)}">${a(details(s))}</error>`,
      );
    }
    out.push(`      <system-out>${a(details(s))}</system-out>`);
    out.push('    </testcase>');
  }
  for (const c of result.crossChecks) {
    out.push(`    <testcase classname="slo.cross-check" name="${a(c.name)}" time="0">`);
    switch (c.status) {
      case 'disagree':
        out.push(`      <error type="cross-check-disagreement" message="${a(c.message)}"/>`);
        break;
      case 'error':
        out.push(`      <error type="cross-check-error" message="${a(c.message)}"/>`);
        break;
      case 'not checked':
        out.push(`      <skipped message="${a(c.message)}"/>`);
        break;
      case 'agree':
        break;
    }
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}

/** Writes `<dir>/junit.xml` and returns its path. */
export async function writeJunitXml(dir: string, run: RunIdentity, result: VerifyResult): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, JUNIT_FILE);
  await writeFile(file, junitXml(run, result));
  return file;
}
