/**
 * Docs that cannot rot: docs/errors.md, docs/metrics.md and .env.example are checked against the
 * catalogues in code, both ways (nothing missing, nothing stale, every column equal); docs/defects.md
 * may only cite regression tests that exist.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENV_VARS } from './config.ts';
import { ERRORS } from './errors.ts';
import { METRICS } from './metrics.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (p: string) => readFileSync(path.join(ROOT, p), 'utf8');

/** Rows of the first markdown table whose header starts with `firstHeader`. */
function tableRows(markdown: string, firstHeader: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${firstHeader} |`));
  if (start < 0) throw new Error(`no table with header "${firstHeader}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim().replace(/^`|`$/g, '')),
    );
  }
  return rows;
}

describe('docs agree with code', () => {
  it('docs/errors.md lists exactly the error catalogue', () => {
    const doc = tableRows(read('docs/errors.md'), 'Name');
    const code = Object.entries(ERRORS).map(([n, e]) => [n, String(e.code), String(e.status), e.message]);
    expect(doc).toEqual(code);
  });

  it('error codes are unique and their status matches their range', () => {
    const codes = Object.values(ERRORS).map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of Object.values(ERRORS)) expect(Math.floor(e.code / 100)).toBe(e.status);
  });

  it('docs/metrics.md lists exactly the metrics catalogue', () => {
    const doc = tableRows(read('docs/metrics.md'), 'Name');
    const code = Object.entries(METRICS).map(([n, m]) => [
      n,
      m.type,
      m.labelNames.join(', ') || '–',
      m.services.join(', '),
      m.help,
      m.updatedIn,
    ]);
    expect(doc).toEqual(code);
  });

  it('no metric has an unbounded label', () => {
    const forbidden = [
      'user_id',
      'group_id',
      'message_id',
      'conversation_id',
      'stream_key',
      'url',
      'path',
      'endpoint',
    ];
    for (const [name, m] of Object.entries(METRICS)) {
      for (const label of m.labelNames) expect(forbidden, `${name}{${label}}`).not.toContain(label);
    }
  });

  it('.env.example documents every variable with its default, and nothing else', () => {
    const assignments = read('.env.example')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.split('=', 2) as [string, string]);
    expect(assignments.map(([k]) => k)).toEqual(Object.keys(ENV_VARS));
    for (const [k, v] of assignments) {
      const spec = ENV_VARS[k as keyof typeof ENV_VARS] as { default?: string };
      expect(v, k).toBe(spec.default ?? '');
    }
  });

  it('docs/defects.md cites only tests that exist, and covers every §8 item', () => {
    // Cells kept as written (tableRows strips the backticks the citations rely on).
    const lines = read('docs/defects.md').split('\n');
    const header = lines.findIndex((l) => l.startsWith('| Defect |'));
    expect(header).toBeGreaterThanOrEqual(0);
    const body = lines.slice(header + 2);
    const end = body.findIndex((l) => !l.startsWith('|'));
    const rows = body.slice(0, end < 0 ? body.length : end).map((l) =>
      l
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim()),
    );
    const items = new Set<number>();
    const problems: string[] = [];
    for (const [defect = '', , tests = ''] of rows) {
      const item = /^§8\.(\d+) /.exec(defect)?.[1];
      if (item === undefined) problems.push(`row without a §8 reference: ${defect}`);
      else items.add(Number(item));
      const cited = [...tests.matchAll(/`([\w./-]+\.test\.ts)` "([^"]+)"/g)];
      if (cited.length === 0 && !/not applicable|no test possible/.test(tests))
        problems.push(`${defect}: no test cited and no reason given`);
      for (const [, file = '', name = ''] of cited) {
        let source: string;
        try {
          source = read(path.join('system-under-test', file));
        } catch {
          problems.push(`${defect}: no file ${file}`);
          continue;
        }
        const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        if (!new RegExp(`\\bit\\(\\s*(['"\`])${escaped}\\1`).test(source))
          problems.push(`${defect}: no test "${name}" in ${file}`);
      }
    }
    expect(problems).toEqual([]);
    expect([...items].sort((a, b) => a - b)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1));
  });
});
