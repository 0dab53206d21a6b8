import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { productionAlertmanagerConfig } from '../monitoring/alertmanager/production.ts';
import { alertsDoc } from '../monitoring/docs.ts';
import { toYaml } from '../monitoring/generated.ts';
import { DASHBOARDS, renderDashboard } from '../monitoring/grafana/dashboards.ts';
import { promtoolTests } from '../monitoring/rules/cases.ts';
import { RULE_PROFILES } from '../monitoring/rules/profiles.ts';
import { alertRuleFile } from '../monitoring/rules/render.ts';
import {
  COMPOSE_FILES,
  composeFile,
  composePrometheusConfig,
  composeToxiproxyConfig,
  grafanaDashboardProvider,
  grafanaDatasource,
} from './compose/render.ts';
import { PACKAGE_ROOT } from './util/paths.ts';

/** Paths (relative to the package root) of the generated rule files, per profile. */
export const RULES_DIR = 'monitoring/prometheus/rules';
export const ruleFilePath = (profile: string) => `${RULES_DIR}/alerts.${profile}.yml`;
export const ruleTestPath = (profile: string) => `${RULES_DIR}/tests/alerts.${profile}.test.yml`;
export const ALERTMANAGER_CONFIG_PATH = 'monitoring/alertmanager/alertmanager.yml';

/**
 * Every generated file of the project, by path, from its typed source. `npm run gen` writes them;
 * `npm run gen -- --check` (part of `npm test`) fails when a committed file differs.
 */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const profile of RULE_PROFILES) {
    files.set(ruleFilePath(profile.name), toYaml(alertRuleFile(profile), 'monitoring/rules/alerts.ts'));
    files.set(
      ruleTestPath(profile.name),
      toYaml(promtoolTests(profile, `../alerts.${profile.name}.yml`), 'monitoring/rules/cases.ts'),
    );
  }
  files.set(
    ALERTMANAGER_CONFIG_PATH,
    toYaml(productionAlertmanagerConfig(), 'monitoring/alertmanager/production.ts'),
  );
  files.set('docs/alerts.md', alertsDoc());
  files.set(COMPOSE_FILES.compose, toYaml(composeFile(), 'harness/compose/services.ts'));
  files.set(COMPOSE_FILES.prometheus, toYaml(composePrometheusConfig(), 'harness/compose/render.ts'));
  // JSON has no comments: .gitattributes marks this one (and every generated file) linguist-generated.
  files.set(COMPOSE_FILES.toxiproxy, `${JSON.stringify(composeToxiproxyConfig(), null, 2)}\n`);
  files.set(
    `${COMPOSE_FILES.grafanaProvisioning}/datasources/prometheus.yml`,
    toYaml(grafanaDatasource(), 'harness/compose/render.ts'),
  );
  for (const dashboard of DASHBOARDS) {
    files.set(
      `${COMPOSE_FILES.grafanaDashboards}/${dashboard.uid}.json`,
      `${JSON.stringify(renderDashboard(dashboard), null, 2)}\n`,
    );
  }
  files.set(
    `${COMPOSE_FILES.grafanaProvisioning}/dashboards/chatim.yml`,
    toYaml(grafanaDashboardProvider(), 'harness/compose/render.ts'),
  );
  return files;
}

export async function writeGenerated(): Promise<string[]> {
  const written: string[] = [];
  for (const [rel, content] of generatedFiles()) {
    const file = path.join(PACKAGE_ROOT, rel);
    const current = await readFile(file, 'utf8').catch(() => undefined);
    if (current === content) continue;
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
    written.push(rel);
  }
  return written;
}

/** Generated files whose committed content differs from what the sources produce now. */
export async function driftedFiles(): Promise<string[]> {
  const drifted: string[] = [];
  for (const [rel, content] of generatedFiles()) {
    const current = await readFile(path.join(PACKAGE_ROOT, rel), 'utf8').catch(() => undefined);
    if (current !== content) drifted.push(rel);
  }
  return drifted;
}
