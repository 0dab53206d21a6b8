/**
 * Named timing profiles for the monitoring side of a stack. `fast` is for tests and CI (alerts can
 * fire within seconds); `production` matches the seed's 15 s scrape/evaluation intervals.
 */
export interface TimingProfile {
  readonly name: string;
  readonly scrapeInterval: string;
  readonly evaluationInterval: string;
  /** Prometheus `--rules.alert.resend-delay`: short, so a notification dropped at start-up is resent soon. */
  readonly alertResendDelay: string;
  /** Alertmanager routing timers of the harness route (the one that feeds the alert sink). */
  readonly groupWait: string;
  readonly groupInterval: string;
  readonly repeatInterval: string;
}

export const TIMING_PROFILES = {
  fast: {
    name: 'fast',
    scrapeInterval: '1s',
    evaluationInterval: '1s',
    alertResendDelay: '2s',
    groupWait: '1s',
    groupInterval: '2s',
    repeatInterval: '1h',
  },
  production: {
    name: 'production',
    scrapeInterval: '15s',
    evaluationInterval: '15s',
    alertResendDelay: '2s',
    groupWait: '10s',
    groupInterval: '10s',
    repeatInterval: '12h',
  },
} as const satisfies Record<string, TimingProfile>;

export type TimingProfileName = keyof typeof TIMING_PROFILES;

export function isTimingProfileName(name: string): name is TimingProfileName {
  return Object.hasOwn(TIMING_PROFILES, name);
}
