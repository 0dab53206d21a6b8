import { describe, expect, it } from 'vitest';
import { checkAlertmanagerPayload } from './payload.ts';
import { alert, payload, resolvedAlert } from './test-support.ts';

describe('checkAlertmanagerPayload', () => {
  it('accepts a real payload unchanged', () => {
    const p = payload([alert(), resolvedAlert()]);
    expect(checkAlertmanagerPayload(JSON.parse(JSON.stringify(p)))).toEqual({ ok: true, payload: p });
  });

  it('fills missing optional maps and counters with empty values', () => {
    const minimal = {
      version: '4',
      status: 'resolved',
      alerts: [{ status: 'resolved', labels: { alertname: 'X' }, startsAt: '2025-01-01T00:00:00Z' }],
    };
    const checked = checkAlertmanagerPayload(minimal);
    expect(checked).toEqual({
      ok: true,
      payload: {
        version: '4',
        groupKey: '',
        truncatedAlerts: 0,
        status: 'resolved',
        receiver: '',
        groupLabels: {},
        commonLabels: {},
        commonAnnotations: {},
        externalURL: '',
        alerts: [
          {
            status: 'resolved',
            labels: { alertname: 'X' },
            annotations: {},
            startsAt: '2025-01-01T00:00:00Z',
            endsAt: '',
            generatorURL: '',
            fingerprint: '',
          },
        ],
      },
    });
  });

  it('rejects what is not an Alertmanager notification, naming each problem', () => {
    expect(checkAlertmanagerPayload([1, 2])).toEqual({
      ok: false,
      problems: ['expected a JSON object, got an array'],
    });
    expect(checkAlertmanagerPayload({ version: '4', status: 'firing', alerts: [] })).toEqual({
      ok: false,
      problems: ['alerts is empty: nothing to forward'],
    });
    const wrong = checkAlertmanagerPayload({
      version: 4,
      status: 'FIRING',
      truncatedAlerts: -1,
      commonLabels: { a: 1 },
      alerts: [{ status: 'firing', labels: {}, annotations: null, startsAt: 5 }],
    });
    expect(wrong).toEqual({
      ok: false,
      problems: [
        'version must be "4" (Alertmanager webhook payload version), got number 4',
        'status must be "firing" or "resolved", got "FIRING"',
        'commonLabels.a must be a string, got number 1',
        'alerts[0].annotations must be an object of strings, got null',
        'alerts[0].startsAt must be a string, got number 5',
        'alerts[0].startsAt is required',
        'truncatedAlerts must be a non-negative integer, got number -1',
      ],
    });
  });

  it('stops listing after ten problems', () => {
    const checked = checkAlertmanagerPayload({ version: '4', status: 'firing', alerts: Array(15).fill('x') });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.problems).toHaveLength(11);
    expect(checked.problems.at(-1)).toBe('… and 5 more problems');
  });
});
