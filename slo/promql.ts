/**
 * The only module that writes PromQL. Every query the project sends to Prometheus or puts into a
 * rule, dashboard or threshold is built here from typed parts, so a metric rename or a label change
 * happens in one place. (The SLO builders join this module with the SLO issue.)
 */

/** A PromQL expression; branded so a plain string cannot be passed where a built query is expected. */
export type PromQL = string & { readonly __promql: unique symbol };

const promql = (text: string) => text as PromQL;

export type LabelMatcher = readonly [name: string, op: '=' | '!=' | '=~' | '!~', value: string];

function quote(value: string): string {
  return JSON.stringify(value);
}

/** `metric{a="b",c=~"d"}` */
export function selector(metric: string, matchers: readonly LabelMatcher[] = []): PromQL {
  if (matchers.length === 0) return promql(metric);
  return promql(`${metric}{${matchers.map(([n, op, v]) => `${n}${op}${quote(v)}`).join(',')}}`);
}

/** `vector(n)`: a constant; the harness watchdog alert is built on it. */
export function vector(n: number): PromQL {
  return promql(`vector(${n})`);
}

/** `up{job="…"}`, the scrape health of a job (all jobs when no job is given). */
export function up(job?: string): PromQL {
  return selector('up', job === undefined ? [] : [['job', '=', job]]);
}

/** `expr op n`, e.g. `x == 1` (filters; use it in alert expressions). */
export function comparison(expr: PromQL, op: '==' | '!=' | '>' | '<' | '>=' | '<=', n: number): PromQL {
  return promql(`${expr} ${op} ${n}`);
}

/** A Prometheus duration such as `30s`, `5m`, `1h`. */
export type Duration = `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNIT_SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 } as const;

export function durationSeconds(d: Duration): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
}

/** Seconds → the shortest exact Prometheus duration (`90` → `90s`, `300` → `5m`). */
export function formatDuration(seconds: number): Duration {
  if (seconds > 0 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds > 0 && seconds % 60 === 0) return `${seconds / 60}m`;
  if (Number.isInteger(seconds)) return `${seconds}s`;
  return `${Math.round(seconds * 1000)}ms`;
}

/** `rate(sel[window])` */
export function rate(sel: PromQL, window: Duration): PromQL {
  return promql(`rate(${sel}[${window}])`);
}

/** `sum by (a, b) (expr)`; with no labels, `sum(expr)`. */
export function sumBy(labels: readonly string[], expr: PromQL): PromQL {
  return promql(labels.length === 0 ? `sum(${expr})` : `sum by (${labels.join(', ')}) (${expr})`);
}

/** `max by (a) (expr)` */
export function maxBy(labels: readonly string[], expr: PromQL): PromQL {
  return promql(labels.length === 0 ? `max(${expr})` : `max by (${labels.join(', ')}) (${expr})`);
}

/** `(a) / (b)`: both sides must carry the same labels (aggregate them the same way). */
export function ratio(numerator: PromQL, denominator: PromQL): PromQL {
  return promql(`(${numerator}) / (${denominator})`);
}

/** `histogram_quantile(q, sum by (le, …) (rate(metric_bucket[window])))` */
export function histogramQuantile(
  q: number,
  histogram: string,
  by: readonly string[],
  window: Duration,
): PromQL {
  if (!(q > 0 && q < 1)) throw new Error(`quantile must be in (0, 1), got ${q}`);
  return promql(
    `histogram_quantile(${q}, ${sumBy([...by, 'le'], rate(selector(`${histogram}_bucket`), window))})`,
  );
}

/** `a or b` */
export function or(a: PromQL, b: PromQL): PromQL {
  return promql(`${a} or ${b}`);
}

/**
 * `(expr) or (like * 0)`: `expr`, with 0 for every series of `like` that `expr` lacks. A ratio of
 * failures whose failure series does not exist yet is then 0, not "no data" (which a panel or a
 * verifier must never mistake for either).
 */
export function orZero(expr: PromQL, like: PromQL): PromQL {
  return promql(`(${expr}) or (${like} * 0)`);
}

/** `expr * n`, e.g. a per-second rate shown per minute. */
export function times(expr: PromQL, n: number): PromQL {
  return promql(`(${expr}) * ${n}`);
}

/** Mean of a histogram or summary over a window: `rate(m_sum[w]) / rate(m_count[w])`, summed by `by`. */
export function meanOver(metric: string, by: readonly string[], window: Duration): PromQL {
  return ratio(
    sumBy(by, rate(selector(`${metric}_sum`), window)),
    sumBy(by, rate(selector(`${metric}_count`), window)),
  );
}

/** `timestamp(expr)`: when each sample was scraped (unix seconds). */
export function timestamp(expr: PromQL): PromQL {
  return promql(`timestamp(${expr})`);
}

/**
 * Share of a counter's rate that matches `part`, per `by`:
 * `sum by (…) (rate(m{part}[w])) / sum by (…) (rate(m[w]))`. With `zeroFill`, a missing `part`
 * series (no failures yet) gives 0 instead of no data; alerts leave it off, since "no data" there
 * simply means "not firing".
 */
export function shareOf(
  counter: string,
  part: readonly LabelMatcher[],
  by: readonly string[],
  window: Duration,
  options: { zeroFill?: boolean } = {},
): PromQL {
  const total = sumBy(by, rate(selector(counter), window));
  const matching = sumBy(by, rate(selector(counter, part), window));
  return ratio(options.zeroFill ? orZero(matching, total) : matching, total);
}
