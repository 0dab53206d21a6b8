import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../harness/exit-codes.ts';
import { TOOLS } from '../harness/tools/manifest.ts';
import { PACKAGE_ROOT } from '../harness/util/paths.ts';

const readme = await readFile(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');

/** The cells of a Markdown table row, trimmed ("| a | b |" → ["a", "b"]). */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());
}

function section(title: string): string {
  const start = readme.indexOf(`## ${title}\n`);
  expect(start, `README has a "## ${title}" section`).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('README', () => {
  it('lists exactly the exit codes of the ExitCode enum', () => {
    const rows = section('Exit codes')
      .split('\n')
      .filter((line) => /^\|\s*\d+\s*\|/.test(line))
      .map((line) => {
        const [code, name] = cells(line);
        return [name, Number(code)];
      });
    expect(Object.fromEntries(rows)).toEqual({ ...ExitCode });
  });

  it('names every pinned tool with its version', () => {
    const tools = section('Tools');
    for (const tool of TOOLS) {
      const row = tools
        .split('\n')
        .find((line) => line.startsWith('|') && cells(line)[0]?.includes(tool.name));
      expect(row, `README "Tools" row for ${tool.name}`).toBeDefined();
      expect(cells(row!)[1]).toBe(tool.version);
    }
  });
});
