/**
 * Inhibition shared by every Alertmanager config (production and harness), so the live harness
 * test proves the rule production runs: while a job is down, its warnings are noise.
 */
export function inhibitRules() {
  return [
    {
      source_matchers: ['alertname="ServiceDown"'],
      target_matchers: ['severity="warning"'],
      equal: ['job'],
    },
  ];
}
