import type { Duration } from '../../slo/promql.ts';
import { ALERTS, type AlertDef } from './alerts.ts';
import type { RuleProfile } from './profiles.ts';

export const RUNBOOK_DIR = 'docs/runbooks';

export function runbookUrl(alert: string): string {
  return `${RUNBOOK_DIR}/${alert}.md`;
}

export interface RenderedRule {
  alert: string;
  expr: string;
  for: Duration;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function renderAlert(def: AlertDef, profile: RuleProfile): RenderedRule[] {
  const t = profile.scale;
  const window = def.window ? t(def.window) : undefined;
  return def.variants.map((v) => {
    // Annotation templates only see the series' labels, not the rule's static ones: fill those in here.
    const fill = (text: string) =>
      Object.entries(v.labels).reduce(
        (acc, [k, value]) => acc.replaceAll(`{{ $labels.${k} }}`, value),
        window ? text.replaceAll('{{window}}', window) : text,
      );
    return {
      alert: def.name,
      expr: v.expr(t),
      for: t(def.for),
      labels: { severity: def.severity, service: '{{ $labels.job }}', ...v.labels },
      annotations: {
        summary: fill(def.summary),
        description: fill(def.description),
        runbook_url: runbookUrl(def.name),
      },
    };
  });
}

/** The rule file of one profile: groups in catalogue order. */
export function alertRuleFile(profile: RuleProfile, alerts: readonly AlertDef[] = ALERTS) {
  const groups = new Map<string, RenderedRule[]>();
  for (const def of alerts)
    groups.set(def.group, [...(groups.get(def.group) ?? []), ...renderAlert(def, profile)]);
  return {
    groups: [...groups].map(([name, rules]) => ({ name, interval: profile.scale('30s'), rules })),
  };
}
