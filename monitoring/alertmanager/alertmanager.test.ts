import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERTMANAGER_CONFIG_PATH } from '../../harness/gen.ts';
import { NativeStackRuntime } from '../../harness/stack/native/runtime.ts';
import type { StartedStack } from '../../harness/stack/types.ts';
import { waitUntil } from '../../harness/stack/wait.ts';
import { toolByName } from '../../harness/tools/manifest.ts';
import { exec } from '../../harness/util/exec.ts';
import { PACKAGE_ROOT } from '../../harness/util/paths.ts';
import { ALERTS } from '../rules/alerts.ts';
import { PLACEHOLDERS, RECEIVERS } from './production.ts';

const amtool = (...args: string[]) => exec(toolByName('amtool').binary, args, { cwd: PACKAGE_ROOT });
const config = path.join(PACKAGE_ROOT, ALERTMANAGER_CONFIG_PATH);

/** Which receiver the production config routes an alert to, asked of the real amtool. */
async function routeOf(labels: Record<string, string>): Promise<string> {
  const r = await amtool(
    'config',
    'routes',
    'test',
    `--config.file=${config}`,
    ...Object.entries(labels).map(([k, v]) => `${k}=${v}`),
  );
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

describe('production Alertmanager config', () => {
  it('passes amtool check-config', async () => {
    const r = await amtool('check-config', config);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it.each(ALERTS.map((a) => [a.name, a.severity] as const))(
    'routes %s (%s) to its receiver',
    async (name, severity) => {
      const expected = severity === 'critical' ? RECEIVERS.critical : RECEIVERS.warning;
      expect(
        await routeOf({ alertname: name, severity, service: 'chatim-gateway', job: 'chatim-gateway' }),
      ).toBe(expected);
    },
  );

  it('routes an alert without a known severity to the default receiver', async () => {
    expect(await routeOf({ alertname: 'SomethingNew', severity: 'info' })).toBe(RECEIVERS.default);
  });

  it('holds no secret: passwords come from files, WeCom values are placeholders', async () => {
    const text = await readFile(config, 'utf8');
    expect(text).not.toMatch(/smtp_auth_password:|auth_password:|api_key:/);
    expect(text).toContain('smtp_auth_password_file: /run/secrets/smtp_password');
    for (const name of PLACEHOLDERS) expect(text).toContain(`\${${name}}`);
    expect(text).toMatch(/wechat_api_secret: \$\{WECOM_API_SECRET\}/);
  });
});

describe('inhibition, live on a real Alertmanager', () => {
  let stack: StartedStack;
  beforeAll(async () => {
    stack = await new NativeStackRuntime().start();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  interface AmAlert {
    labels: Record<string, string>;
    status: { state: string; inhibitedBy: string[] };
  }

  it('mutes the warnings of a job that is down, and only that job', async () => {
    const am = stack.endpoints.alertmanager.url;
    const alert = (labels: Record<string, string>) => ({
      labels,
      annotations: { summary: 'test' },
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + 10 * 60_000).toISOString(),
    });
    const res = await fetch(`${am}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        alert({
          alertname: 'ServiceDown',
          severity: 'critical',
          job: 'chatim-gateway',
          service: 'chatim-gateway',
        }),
        alert({
          alertname: 'HighHTTPLatency',
          severity: 'warning',
          job: 'chatim-gateway',
          service: 'chatim-gateway',
        }),
        alert({
          alertname: 'HighHTTPLatency',
          severity: 'warning',
          job: 'chatim-user-service',
          service: 'chatim-user-service',
        }),
      ]),
    });
    expect(res.status).toBe(200);

    let alerts: AmAlert[] = [];
    await waitUntil(
      async () => {
        alerts = (await (await fetch(`${am}/api/v2/alerts`)).json()) as AmAlert[];
        const latency = alerts.filter((a) => a.labels.alertname === 'HighHTTPLatency');
        return latency.length === 2 && latency.some((a) => a.status.state === 'suppressed');
      },
      { what: 'Alertmanager to evaluate inhibition', timeoutMs: 30_000 },
    );
    const state = (alertname: string, job: string) =>
      alerts.find((a) => a.labels.alertname === alertname && a.labels.job === job)?.status;
    expect(state('HighHTTPLatency', 'chatim-gateway')).toMatchObject({ state: 'suppressed' });
    expect(state('HighHTTPLatency', 'chatim-gateway')?.inhibitedBy).toHaveLength(1);
    expect(state('HighHTTPLatency', 'chatim-user-service')).toMatchObject({
      state: 'active',
      inhibitedBy: [],
    });
    expect(state('ServiceDown', 'chatim-gateway')).toMatchObject({ state: 'active' });

    // And at the receiver: the user-service warning and the ServiceDown arrive; the muted one never does.
    const arrived =
      (alertname: string, job: string) =>
      (n: { payload: { alerts: { labels: Record<string, string> }[] } }) =>
        n.payload.alerts.some((a) => a.labels.alertname === alertname && a.labels.job === job);
    await stack.alertSink.waitFor(arrived('HighHTTPLatency', 'chatim-user-service'), 30_000);
    await stack.alertSink.waitFor(arrived('ServiceDown', 'chatim-gateway'), 30_000);
    expect(stack.alertSink.notifications().some(arrived('HighHTTPLatency', 'chatim-gateway'))).toBe(false);
  });
});
