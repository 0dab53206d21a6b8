import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sutComponents } from '../../harness/stack/native/sut-components.ts';
import { ALERTMANAGER_CONFIG_PATH } from '../gen.ts';
import { coreComponents } from '../stack/native/core-components.ts';
import { toolByName } from '../tools/manifest.ts';
import { exec } from '../util/exec.ts';
import { PACKAGE_ROOT } from '../util/paths.ts';
import { COMPOSE_FILES } from './render.ts';
import { COMPOSE_SERVICES } from './services.ts';

/** Every variable compose.yaml requires, with a harmless test value. */
const ENV: Record<string, string> = {
  POSTGRES_PASSWORD: 'test-password',
  GRAFANA_ADMIN_PASSWORD: 'test-admin',
  CHATIM_DEBUG_TOKEN: 'test-debug',
  CHATIM_JWT_SECRET: 'test-jwt',
  WECOM_CORP_ID: 'corp|&/1',
  WECOM_API_SECRET: 'sec&ret/with|odd\\chars',
  WECOM_AGENT_ID: '1000002',
  WECOM_TO_PARTY: '2',
  RELAY_DINGTALK_ONCALL_URL: 'http://127.0.0.1:1/robot/send?access_token=a',
  RELAY_DINGTALK_ONCALL_SECRET: 's1',
  RELAY_DINGTALK_TEAM_URL: 'http://127.0.0.1:1/robot/send?access_token=b',
  RELAY_DINGTALK_TEAM_SECRET: 's2',
};

const compose = (args: string[], env: Record<string, string> = ENV) =>
  exec(toolByName('docker-compose').binary, ['-f', COMPOSE_FILES.compose, ...args], {
    cwd: PACKAGE_ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir(), ...env },
  });

interface ComposeDoc {
  services: Record<
    string,
    { expose?: string[]; volumes?: string[]; entrypoint?: string[]; environment?: Record<string, string> }
  >;
}

let doc: ComposeDoc;
let scratch: string;
beforeAll(async () => {
  doc = parse(await readFile(path.join(PACKAGE_ROOT, COMPOSE_FILES.compose), 'utf8')) as ComposeDoc;
  scratch = await mkdtemp(path.join(os.tmpdir(), 'chatim-slo-compose-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('compose.yaml', () => {
  it('is valid for docker-compose (compose-spec schema), without a Docker engine', async () => {
    const r = await compose(['config', '-q']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('refuses to start without secrets instead of using weak defaults', async () => {
    const { GRAFANA_ADMIN_PASSWORD: _, ...withoutGrafana } = ENV;
    const r = await compose(['config', '-q'], withoutGrafana);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('set GRAFANA_ADMIN_PASSWORD in .env');
  });

  it('documents every variable it requires in compose.env.example, and no other', async () => {
    const example = await readFile(path.join(PACKAGE_ROOT, 'compose.env.example'), 'utf8');
    const documented = [...example.matchAll(/^([A-Z_]+)=$/gm)].map((m) => m[1]).sort();
    const text = await readFile(path.join(PACKAGE_ROOT, COMPOSE_FILES.compose), 'utf8');
    const required = [...new Set([...text.matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1]))].sort();
    expect(documented).toEqual(required);
    expect(required).toEqual(Object.keys(ENV).sort());
  });

  it('has one service per native component, with the same named ports, plus the compose-only ones', () => {
    const native = [...coreComponents(), ...sutComponents()];
    const composeOnly = Object.entries(COMPOSE_SERVICES)
      .filter(([, s]) => s.native !== true)
      .map(([n]) => n);
    expect(Object.keys(doc.services).sort()).toEqual([...native.map((c) => c.name), ...composeOnly].sort());
    expect(composeOnly.sort()).toEqual(['dingtalk-relay', 'grafana']);
    for (const component of native) {
      const spec = COMPOSE_SERVICES[component.name]!;
      expect(Object.keys(spec.ports).sort(), component.name).toEqual([...component.ports].sort());
      expect(doc.services[component.name]?.expose, component.name).toEqual(
        Object.values(spec.ports).map(String),
      );
      // Scraped the same way: same job, same named port.
      expect(spec.scrape && { job: spec.scrape.job, port: spec.scrape.port }, component.name).toEqual(
        component.scrape && { job: component.scrape.job, port: component.scrape.port ?? component.ports[0] },
      );
    }
  });

  it('mounts only configuration files that exist in the repository', async () => {
    const mounts = Object.values(doc.services)
      .flatMap((s) => s.volumes ?? [])
      .filter((v) => v.startsWith('./'))
      .map((v) => v.split(':')[0]!);
    expect(mounts).toEqual(
      expect.arrayContaining([
        `./${COMPOSE_FILES.prometheus}`,
        `./${COMPOSE_FILES.rules}`,
        `./${ALERTMANAGER_CONFIG_PATH}`,
        `./${COMPOSE_FILES.toxiproxy}`,
      ]),
    );
    for (const m of mounts) await access(path.join(PACKAGE_ROOT, m));
  });

  it('Prometheus config passes promtool check config, with the production rules', async () => {
    const text = (await readFile(path.join(PACKAGE_ROOT, COMPOSE_FILES.prometheus), 'utf8')).replace(
      '/etc/prometheus/rules/',
      `${path.join(PACKAGE_ROOT, COMPOSE_FILES.rules)}/`,
    );
    const file = path.join(scratch, 'prometheus.yml');
    await writeFile(file, text);
    const r = await exec(toolByName('promtool').binary, ['check', 'config', file]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS: 1 rule files found');
  });

  it("Alertmanager's start script fills the WeCom placeholders (odd characters included) into a valid config", async () => {
    const script = doc.services.alertmanager?.entrypoint?.[2];
    expect(script).toBeDefined();
    const out = path.join(scratch, 'alertmanager.yml');
    // What compose runs, with `$$` unescaped, reading the committed file and stopping before exec.
    const runnable = script!
      .replaceAll('$$', '$')
      .replace('/etc/alertmanager/alertmanager.yml', path.join(PACKAGE_ROOT, ALERTMANAGER_CONFIG_PATH))
      .replace('/tmp/alertmanager.yml', out)
      .replace(/^exec .*$/m, 'true');
    const r = await exec('sh', ['-c', runnable], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...ENV },
    });
    expect(r.code, r.stderr).toBe(0);
    const rendered = await readFile(out, 'utf8');
    expect(rendered).not.toContain('${WECOM');
    expect(parse(rendered).global.wechat_api_secret).toBe(ENV.WECOM_API_SECRET);
    expect(parse(rendered).global.wechat_api_corp_id).toBe(ENV.WECOM_CORP_ID);
    const check = await exec(toolByName('amtool').binary, ['check-config', out]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });
});
