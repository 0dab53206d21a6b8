/**
 * verdict.json: the machine-readable verdict of one run. The schema is versioned (`schemaVersion`);
 * docs/slos.md ("verdict.json") documents every field, and a test keeps the two in step. Bump
 * VERDICT_SCHEMA_VERSION on any change a reader could trip over (renamed or removed fields, changed
 * meaning); adding a field is not such a change.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exitCodeName } from '../harness/exit-codes.ts';
import type { RunIdentity } from '../slo/baseline.ts';
import type { VerifyResult } from '../slo/verifier.ts';

export const VERDICT_SCHEMA_VERSION = 1;
export const VERDICT_FILE = 'verdict.json';

/** JSON has no NaN or infinities: they are written as the strings Prometheus uses. */
export type JsonNumber = number | 'NaN' | '+Inf' | '-Inf';

export function jsonNumber(n: number): JsonNumber {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return n;
}

export function verdictJson(run: RunIdentity, result: VerifyResult, generatedAt: Date) {
  return {
    schemaVersion: VERDICT_SCHEMA_VERSION,
    run: { runId: run.runId, scenario: run.scenario, profile: run.profile },
    generatedAt: generatedAt.toISOString(),
    window: result.window,
    overall: result.overall,
    exitCode: result.exitCode,
    exitCodeName: exitCodeName(result.exitCode),
    elapsedMs: result.elapsedMs,
    slos: result.slos.map((s) => ({
      name: s.name,
      displayName: s.displayName,
      measuredAt: s.measuredAt,
      unit: s.unit,
      verdict: s.verdict,
      reasons: s.reasons,
      measured: s.measured === null ? null : jsonNumber(s.measured),
      objective: s.objective,
      errorBudgetUsed: s.errorBudgetUsed === null ? null : jsonNumber(s.errorBudgetUsed),
      baseline: s.baseline,
      window: s.window,
      queries: s.queries,
    })),
    crossChecks: result.crossChecks,
  };
}

export type VerdictJson = ReturnType<typeof verdictJson>;

/** Writes `<dir>/verdict.json` and returns its path. */
export async function writeVerdictJson(
  dir: string,
  run: RunIdentity,
  result: VerifyResult,
  generatedAt: Date,
) {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, VERDICT_FILE);
  await writeFile(file, `${JSON.stringify(verdictJson(run, result, generatedAt), null, 2)}\n`);
  return file;
}
