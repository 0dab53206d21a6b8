import { type Duration, durationSeconds, formatDuration } from '../../slo/promql.ts';

/**
 * Time profiles of the generated alert rules. `production` keeps the seed's windows and `for`
 * durations; `fast` is the same expressions with every duration divided by 10 (rate windows,
 * `for`, and the promtool test timelines alike), so a chaos run in CI sees an alert fire in
 * seconds instead of minutes. docs/alerts.md shows both columns.
 */
export interface RuleProfile {
  readonly name: 'production' | 'fast';
  /** Scales a production duration to this profile. */
  scale(d: Duration): Duration;
}

const FAST_FACTOR = 10;

export const RULE_PROFILES: readonly RuleProfile[] = [
  { name: 'production', scale: (d) => d },
  { name: 'fast', scale: (d) => formatDuration(durationSeconds(d) / FAST_FACTOR) },
];
