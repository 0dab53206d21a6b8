import type { AlertmanagerWebhookAlert, AlertmanagerWebhookPayload } from '../../harness/stack/alert-sink.ts';

export type PayloadCheck =
  | { readonly ok: true; readonly payload: AlertmanagerWebhookPayload }
  | { readonly ok: false; readonly problems: readonly string[] };

const MAX_PROBLEMS = 10;

/**
 * Checks that a parsed JSON body is an Alertmanager webhook notification (payload version 4) and
 * returns it normalised (missing maps become `{}`). All problems are reported, up to ten.
 */
export function checkAlertmanagerPayload(body: unknown): PayloadCheck {
  const problems: string[] = [];
  if (!isObject(body)) {
    return { ok: false, problems: [`expected a JSON object, got ${describe(body)}`] };
  }
  if (body.version !== '4') {
    problems.push(
      `version must be "4" (Alertmanager webhook payload version), got ${describe(body.version)}`,
    );
  }
  const status = body.status;
  if (status !== 'firing' && status !== 'resolved') {
    problems.push(`status must be "firing" or "resolved", got ${describe(status)}`);
  }
  const maps = {
    groupLabels: stringMap(body.groupLabels, 'groupLabels', problems),
    commonLabels: stringMap(body.commonLabels, 'commonLabels', problems),
    commonAnnotations: stringMap(body.commonAnnotations, 'commonAnnotations', problems),
  };
  const alerts: AlertmanagerWebhookAlert[] = [];
  if (!Array.isArray(body.alerts)) {
    problems.push(`alerts must be an array, got ${describe(body.alerts)}`);
  } else if (body.alerts.length === 0) {
    problems.push('alerts is empty: nothing to forward');
  } else {
    body.alerts.forEach((raw: unknown, i: number) => {
      const where = `alerts[${i}]`;
      if (!isObject(raw)) {
        problems.push(`${where} must be an object, got ${describe(raw)}`);
        return;
      }
      if (raw.status !== 'firing' && raw.status !== 'resolved') {
        problems.push(`${where}.status must be "firing" or "resolved", got ${describe(raw.status)}`);
      }
      const labels = stringMap(raw.labels, `${where}.labels`, problems, true);
      const annotations = stringMap(raw.annotations, `${where}.annotations`, problems);
      for (const field of ['startsAt', 'endsAt', 'generatorURL', 'fingerprint'] as const) {
        if (raw[field] !== undefined && typeof raw[field] !== 'string') {
          problems.push(`${where}.${field} must be a string, got ${describe(raw[field])}`);
        }
      }
      if (typeof raw.startsAt !== 'string') problems.push(`${where}.startsAt is required`);
      alerts.push({
        status: raw.status === 'resolved' ? 'resolved' : 'firing',
        labels,
        annotations,
        startsAt: stringOr(raw.startsAt),
        endsAt: stringOr(raw.endsAt),
        generatorURL: stringOr(raw.generatorURL),
        fingerprint: stringOr(raw.fingerprint),
      });
    });
  }
  if (body.truncatedAlerts !== undefined && !isCount(body.truncatedAlerts)) {
    problems.push(`truncatedAlerts must be a non-negative integer, got ${describe(body.truncatedAlerts)}`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, MAX_PROBLEMS);
    if (problems.length > MAX_PROBLEMS) shown.push(`… and ${problems.length - MAX_PROBLEMS} more problems`);
    return { ok: false, problems: shown };
  }
  return {
    ok: true,
    payload: {
      version: '4',
      groupKey: stringOr(body.groupKey),
      truncatedAlerts: isCount(body.truncatedAlerts) ? body.truncatedAlerts : 0,
      status: status === 'resolved' ? 'resolved' : 'firing',
      receiver: stringOr(body.receiver),
      ...maps,
      externalURL: stringOr(body.externalURL),
      alerts,
    },
  };
}

function stringMap(
  value: unknown,
  where: string,
  problems: string[],
  required = false,
): Record<string, string> {
  if (value === undefined && !required) return {};
  if (!isObject(value)) {
    problems.push(`${where} must be an object of strings, got ${describe(value)}`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') problems.push(`${where}.${k} must be a string, got ${describe(v)}`);
    else out[k] = v;
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function stringOr(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
