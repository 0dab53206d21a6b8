import type { TimingProfile } from '../../harness/stack/profiles.ts';
import { inhibitRules } from './inhibit.ts';

export const HARNESS_RECEIVER = 'harness-sink';

/**
 * Alertmanager config for harness runs: every alert goes to the harness alert sink, ungrouped
 * (`group_by: ['...']`), so the sink sees each alert's own firing and resolved notifications. The
 * inhibition rules are production's, so harness runs prove them.
 */
export function harnessAlertmanagerConfig(input: { sinkUrl: string; profile: TimingProfile }) {
  return {
    route: {
      receiver: HARNESS_RECEIVER,
      group_by: ['...'],
      group_wait: input.profile.groupWait,
      group_interval: input.profile.groupInterval,
      repeat_interval: input.profile.repeatInterval,
    },
    inhibit_rules: inhibitRules(),
    receivers: [
      {
        name: HARNESS_RECEIVER,
        webhook_configs: [
          { url: `${input.sinkUrl}/alerts/${HARNESS_RECEIVER}`, send_resolved: true, max_alerts: 0 },
        ],
      },
    ],
  };
}
