import { ALERT_PROBE_METRIC } from '../../harness/stack/alert-sink.ts';
import { comparison, selector, vector } from '../../slo/promql.ts';

/**
 * Rules the harness itself loads into every stack's Prometheus. The watchdog always fires (the
 * pattern kube-prometheus calls Watchdog): its arrival at the alert sink proves the whole path
 * Prometheus → Alertmanager → receiver works, so a chaos run can tell "the alert did not fire"
 * from "alerting is broken", and `doctor` measures the path's latency with it.
 */
export const WATCHDOG_ALERT = 'ChatimSloWatchdog';
/** Fires while the alert sink's probe gauge is 1: lets `doctor` and chaos runs time fire → receiver → resolve. */
export const ALERT_PROBE_ALERT = 'ChatimSloAlertProbe';

export function harnessRuleGroups() {
  return {
    groups: [
      {
        name: 'chatim-slo-harness',
        rules: [
          {
            alert: WATCHDOG_ALERT,
            expr: vector(1),
            labels: { severity: 'none', source: 'chatim-slo' },
            annotations: {
              summary: 'Always firing: proves the alert path Prometheus → Alertmanager → receiver works.',
              description:
                'If this alert stops arriving at its receiver, alerting is broken and no other alert can be trusted.',
            },
          },
          {
            alert: ALERT_PROBE_ALERT,
            expr: comparison(selector(ALERT_PROBE_METRIC), '==', 1),
            labels: { severity: 'none', source: 'chatim-slo' },
            annotations: {
              summary:
                'Synthetic alert probe "{{ $labels.probe }}" is set: the harness is timing the alert path.',
              description:
                'Fires while the harness sets {{ $labels.probe }} to 1, resolves when it sets it to 0.',
            },
          },
        ],
      },
    ],
  };
}
