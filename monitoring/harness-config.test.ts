import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIMING_PROFILES } from '../harness/stack/profiles.ts';
import { toolByName } from '../harness/tools/manifest.ts';
import { exec } from '../harness/util/exec.ts';
import { harnessAlertmanagerConfig } from './alertmanager/harness.ts';
import { toYaml } from './generated.ts';
import { prometheusConfig } from './prometheus/config.ts';
import { ALERT_PROBE_ALERT, harnessRuleGroups, WATCHDOG_ALERT } from './rules/harness.ts';

// The configs the native stack writes, checked by the real promtool and amtool.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'chatim-slo-config-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function check(tool: string, args: string[]): Promise<{ stdout: string; all: string }> {
  const r = await exec(toolByName(tool).binary, args);
  expect(r.code, `${tool} ${args.join(' ')}:\n${r.stdout}${r.stderr}`).toBe(0);
  return { stdout: r.stdout, all: r.stdout + r.stderr };
}

describe('harness monitoring configs', () => {
  it.each(Object.values(TIMING_PROFILES))(
    'prometheus.yml for the $name profile passes promtool check config',
    async (profile) => {
      const rules = path.join(dir, 'harness-rules.yml');
      await writeFile(rules, toYaml(harnessRuleGroups(), 'test'));
      const config = prometheusConfig({
        profile,
        targets: [
          { job: 'redis', address: '127.0.0.1:1111' },
          { job: 'toxiproxy', address: '127.0.0.1:2222', metricsPath: '/metrics' },
        ],
        alertmanagers: ['127.0.0.1:3333'],
        ruleFiles: [rules],
      });
      const file = path.join(dir, `prometheus-${profile.name}.yml`);
      await writeFile(file, toYaml(config, 'test'));
      const out = await check('promtool', ['check', 'config', file]);
      expect(out.all).toContain('SUCCESS: 1 rule files found');
      expect(config.global.scrape_interval).toBe(profile.scrapeInterval);
    },
  );

  it('alertmanager.yml passes amtool check-config and routes everything to the sink', async () => {
    const file = path.join(dir, 'alertmanager.yml');
    await writeFile(
      file,
      toYaml(
        harnessAlertmanagerConfig({ sinkUrl: 'http://127.0.0.1:4444', profile: TIMING_PROFILES.fast }),
        'test',
      ),
    );
    await check('amtool', ['check-config', file]);
    const routed = await check('amtool', [
      'config',
      'routes',
      'test',
      `--config.file=${file}`,
      'alertname=Anything',
    ]);
    expect(routed.stdout.trim()).toBe('harness-sink');
  });

  it('the harness alerts fire and stay quiet exactly when they should (promtool test rules)', async () => {
    const rules = path.join(dir, 'harness-rules.yml');
    await writeFile(rules, toYaml(harnessRuleGroups(), 'test'));
    const tests = path.join(dir, 'harness-rules.test.yml');
    const probe = { alertname: ALERT_PROBE_ALERT, probe: 'doctor', severity: 'none', source: 'chatim-slo' };
    await writeFile(
      tests,
      toYaml(
        {
          rule_files: [rules],
          evaluation_interval: '1s',
          tests: [
            {
              interval: '1s',
              input_series: [{ series: 'chatim_slo_alert_probe{probe="doctor"}', values: '0 0 1 1 0 0' }],
              alert_rule_test: [
                { eval_time: '1s', alertname: ALERT_PROBE_ALERT, exp_alerts: [] },
                {
                  eval_time: '3s',
                  alertname: ALERT_PROBE_ALERT,
                  exp_alerts: [
                    {
                      exp_labels: probe,
                      exp_annotations: {
                        summary:
                          'Synthetic alert probe "doctor" is set: the harness is timing the alert path.',
                        description:
                          'Fires while the harness sets doctor to 1, resolves when it sets it to 0.',
                      },
                    },
                  ],
                },
                { eval_time: '5s', alertname: ALERT_PROBE_ALERT, exp_alerts: [] },
                {
                  eval_time: '5s',
                  alertname: WATCHDOG_ALERT,
                  exp_alerts: [
                    {
                      exp_labels: { alertname: WATCHDOG_ALERT, severity: 'none', source: 'chatim-slo' },
                      exp_annotations: harnessRuleGroups().groups[0]!.rules[0]!.annotations,
                    },
                  ],
                },
              ],
            },
          ],
        },
        'test',
      ),
    );
    const out = await check('promtool', ['test', 'rules', tests]);
    expect(out.all).toContain('SUCCESS');
  });

  it('promtool test rules fails when an expectation is wrong (negative control)', async () => {
    const rules = path.join(dir, 'harness-rules.yml');
    await writeFile(rules, toYaml(harnessRuleGroups(), 'test'));
    const tests = path.join(dir, 'wrong.test.yml');
    await writeFile(
      tests,
      toYaml(
        {
          rule_files: [rules],
          evaluation_interval: '1s',
          tests: [
            {
              interval: '1s',
              input_series: [{ series: 'chatim_slo_alert_probe{probe="doctor"}', values: '0 0 0' }],
              alert_rule_test: [
                {
                  eval_time: '2s',
                  alertname: ALERT_PROBE_ALERT,
                  exp_alerts: [{ exp_labels: { probe: 'doctor' } }],
                },
              ],
            },
          ],
        },
        'test',
      ),
    );
    const r = await exec(toolByName('promtool').binary, ['test', 'rules', tests]);
    expect(r.code).not.toBe(0);
  });
});
