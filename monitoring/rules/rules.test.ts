import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driftedFiles, ruleFilePath, ruleTestPath } from '../../harness/gen.ts';
import { toolByName } from '../../harness/tools/manifest.ts';
import { exec } from '../../harness/util/exec.ts';
import { PACKAGE_ROOT } from '../../harness/util/paths.ts';
import { comparison, selector } from '../../slo/promql.ts';
import { toYaml } from '../generated.ts';
import { ALERTS } from './alerts.ts';
import { ALERT_CASES } from './cases.ts';
import { RULE_PROFILES } from './profiles.ts';
import { alertRuleFile, RUNBOOK_DIR } from './render.ts';

const promtool = (...args: string[]) => exec(toolByName('promtool').binary, args, { cwd: PACKAGE_ROOT });

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'chatim-slo-rules-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('generated alert rules', () => {
  it('are committed exactly as the sources generate them (npm run gen -- --check)', async () => {
    expect(await driftedFiles()).toEqual([]);
  });

  it.each(RULE_PROFILES.map((p) => p.name))('%s rules pass promtool check rules', async (profile) => {
    const r = await promtool('check', 'rules', ruleFilePath(profile));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rules = ALERTS.reduce((n, a) => n + a.variants.length, 0);
    expect(r.stdout).toContain(`SUCCESS: ${rules} rules found`);
  });

  it.each(RULE_PROFILES.map((p) => p.name))('%s rules pass every promtool test case', async (profile) => {
    const r = await promtool('test', 'rules', ruleTestPath(profile));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('have, for every alert, a case that fires and cases that stay quiet on healthy and on borderline data', () => {
    for (const alert of ALERTS) {
      const kinds = new Set(ALERT_CASES.filter((c) => c.alert === alert.name).map((c) => c.kind));
      expect([...kinds].sort(), alert.name).toEqual([
        'fires',
        'quiet on borderline data',
        'quiet on healthy data',
      ]);
      const fires = ALERT_CASES.find((c) => c.alert === alert.name && c.kind === 'fires')!;
      // "at the right eval time": quiet before `for` has elapsed, firing after.
      expect(fires.checks[0]?.firing, `${alert.name} must not fire at once`).toEqual([]);
      expect(fires.checks.at(-1)?.firing.length, `${alert.name} fires`).toBeGreaterThan(0);
    }
    for (const c of ALERT_CASES) expect(ALERTS.map((a) => a.name)).toContain(c.alert);
  });

  it('carry severity, service, summary, description and runbook_url on every rule', () => {
    for (const profile of RULE_PROFILES) {
      for (const group of alertRuleFile(profile).groups) {
        for (const rule of group.rules) {
          expect(Object.keys(rule.labels)).toEqual(expect.arrayContaining(['severity', 'service']));
          expect(Object.keys(rule.annotations).sort()).toEqual(['description', 'runbook_url', 'summary']);
          // The measured value, except for up/down alerts where it is always 0 (they name the target instead).
          if (!rule.expr.endsWith('== 0')) expect(rule.annotations.description).toMatch(/\{\{ \$value/);
          else expect(rule.annotations.description).toMatch(/\{\{ \$labels\.(instance|job) \}\}/);
        }
      }
    }
  });

  it('fail their promtool tests when a threshold changes (negative control)', async () => {
    const loosened = ALERTS.map((a) =>
      a.name === 'HighHTTPErrorRate'
        ? {
            ...a,
            variants: [
              { labels: {}, expr: () => comparison(selector('chatim_http_requests_total'), '>', 1e12) },
            ],
          }
        : a,
    );
    const production = RULE_PROFILES[0]!;
    await writeFile(path.join(scratch, 'alerts.yml'), toYaml(alertRuleFile(production, loosened), 'test'));
    const tests = (await readFile(path.join(PACKAGE_ROOT, ruleTestPath('production')), 'utf8')).replace(
      '../alerts.production.yml',
      'alerts.yml',
    );
    await writeFile(path.join(scratch, 'alerts.test.yml'), tests);
    const r = await exec(toolByName('promtool').binary, ['test', 'rules', 'alerts.test.yml'], {
      cwd: scratch,
    });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('HighHTTPErrorRate: fires');
  });
});

describe('runbooks', () => {
  it('exist for every alert, and only for alerts, each with its title and a triage section', async () => {
    const files = (await readdir(path.join(PACKAGE_ROOT, RUNBOOK_DIR)))
      .filter((f) => f.endsWith('.md'))
      .sort();
    expect(files).toEqual(ALERTS.map((a) => `${a.name}.md`).sort());
    for (const alert of ALERTS) {
      const text = await readFile(path.join(PACKAGE_ROOT, RUNBOOK_DIR, `${alert.name}.md`), 'utf8');
      expect(text.startsWith(`# ${alert.name}\n`), alert.name).toBe(true);
      expect(text).toContain(`**Severity:** ${alert.severity}.`);
      expect(text).toMatch(/## Triage/);
    }
  });
});

describe('PromQL', () => {
  it('is written only in slo/promql.ts (no query strings in other sources)', async () => {
    const offenders: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(path.join(PACKAGE_ROOT, dir), { withFileTypes: true })) {
        const rel = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (!['node_modules', '.tools', 'out'].includes(entry.name)) await walk(rel);
        } else if (
          rel.endsWith('.ts') &&
          !rel.endsWith('.test.ts') &&
          rel !== path.join('slo', 'promql.ts')
        ) {
          const code = (await readFile(path.join(PACKAGE_ROOT, rel), 'utf8'))
            .replace(/\/\*[\s\S]*?\*\//g, '')
            .replace(/\/\/.*$/gm, '');
          // A PromQL function or aggregation inside a string or template literal.
          const literals = code.match(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g) ?? [];
          const promqlCall =
            /\b(rate|irate|increase|histogram_quantile|sum|avg_over_time|max_over_time)\(|\bsum by \(/;
          if (literals.some((l) => promqlCall.test(l))) {
            offenders.push(rel);
          }
        }
      }
    };
    for (const dir of ['harness', 'monitoring', 'slo', 'scripts', 'system-under-test']) await walk(dir);
    expect(offenders).toEqual([]);
  });
});
