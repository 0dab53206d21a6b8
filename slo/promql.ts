/**
 * The only module that writes PromQL. Every query the project sends to Prometheus or puts into a
 * rule, dashboard or threshold is built here from typed parts, so a metric rename or a label change
 * happens in one place. The SLO builders (below) turn SLO definitions' metric data into queries.
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

/** `min by (a) (expr)` */
export function minBy(labels: readonly string[], expr: PromQL): PromQL {
  return promql(labels.length === 0 ? `min(${expr})` : `min by (${labels.join(', ')}) (${expr})`);
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
  matchers: readonly LabelMatcher[] = [],
): PromQL {
  if (!(q > 0 && q < 1)) throw new Error(`quantile must be in (0, 1), got ${q}`);
  return promql(
    `histogram_quantile(${q}, ${sumBy([...by, 'le'], rate(selector(`${histogram}_bucket`, matchers), window))})`,
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

// ---------------------------------------------------------------------------------------------
// SLO builders. The verifier evaluates each as an instant query at the end of the (trimmed) run
// window with a range equal to the window, so a query covers exactly the samples of the run.
// ---------------------------------------------------------------------------------------------

/** A metric and its matchers, as SLO definitions name them (data, not PromQL). */
export interface SeriesRef {
  readonly metric: string;
  readonly matchers: readonly LabelMatcher[];
}

const ref = (r: SeriesRef, suffix = '') => selector(`${r.metric}${suffix}`, r.matchers);

/** `fn(sel[window])` for the range-vector functions the SLO builders use. */
export function overTime(
  fn: 'count_over_time' | 'sum_over_time' | 'max_over_time' | 'min_over_time' | 'increase' | 'deriv',
  sel: PromQL,
  window: Duration,
): PromQL {
  return promql(`${fn}(${sel}[${window}])`);
}

/** `increase(sel[window])` */
export function increase(sel: PromQL, window: Duration): PromQL {
  return overTime('increase', sel, window);
}

/** A subquery: `(expr)[window:step]`, so a range function can run over an aggregated expression. */
export function subquery(expr: PromQL, window: Duration, step: Duration): PromQL {
  return promql(`(${expr})[${window}:${step}]`);
}

/** `fn((expr)[window:step])`: a range function over an aggregated expression. */
export function overTimeOf(
  fn: 'max_over_time' | 'deriv',
  expr: PromQL,
  window: Duration,
  step: Duration,
): PromQL {
  return promql(`${fn}(${subquery(expr, window, step)})`);
}

/** Events of a counter over the window, summed over every matching series: `sum(increase(m{…}[w]))`. */
export function eventsOver(r: SeriesRef, window: Duration): PromQL {
  return sumBy([], increase(ref(r), window));
}

/**
 * Ratio SLI: good events / all events over the window. Given `bad` instead of `good`, it is
 * `1 - bad/total`, with a missing bad series (no failures yet) counted as 0, never as no data.
 * No events at all gives NaN (0/0): the verifier reads that as no data.
 */
export function ratioSli(
  parts: { readonly good?: SeriesRef; readonly bad?: SeriesRef; readonly total: SeriesRef },
  window: Duration,
): PromQL {
  const total = eventsOver(parts.total, window);
  if (parts.good) return ratio(eventsOver(parts.good, window), total);
  if (!parts.bad) throw new Error('a ratio SLI needs good or bad events');
  return promql(`1 - ${ratio(orZero(eventsOver(parts.bad, window), total), total)}`);
}

/** `histogram_quantile(q, sum by (le) (rate(m_bucket{…}[w])))` over every matching series. */
export function quantileSli(q: number, histogram: SeriesRef, window: Duration): PromQL {
  return histogramQuantile(q, histogram.metric, [], window, histogram.matchers);
}

/**
 * Highest value a gauge reached in the window. `sumFirst` sums the matching series at each step
 * first (e.g. a backlog split by state), through a subquery at `step` (the scrape interval).
 */
export function maxSli(g: SeriesRef, window: Duration, step: Duration, sumFirst: boolean): PromQL {
  return sumFirst
    ? overTimeOf('max_over_time', sumBy([], ref(g)), window, step)
    : maxBy([], overTime('max_over_time', ref(g), window));
}

/**
 * Growth per second of a gauge over the window (least-squares slope, `deriv`), the worst series'
 * (e.g. the fastest-growing service's heap); `sumFirst` as for maxSli.
 */
export function slopeSli(g: SeriesRef, window: Duration, step: Duration, sumFirst: boolean): PromQL {
  return sumFirst
    ? overTimeOf('deriv', sumBy([], ref(g)), window, step)
    : maxBy([], overTime('deriv', ref(g), window));
}

/** Samples scraped in the window of the best-covered matching series: `max(count_over_time(sel[w]))`. */
export function samplesIn(r: SeriesRef, window: Duration, suffix = ''): PromQL {
  return maxBy([], overTime('count_over_time', ref(r, suffix), window));
}

/**
 * Scrape coverage of one job over the window, **per target** (one series per `instance`): scrapes
 * attempted (`count_over_time(up[w])`) and scrapes that succeeded (`sum_over_time(up[w])`). Never
 * summed over the job's targets: with two targets, one down for the whole window would still add up
 * to full coverage. `min by (instance)` keeps the worst `up` series of a target should there be
 * more than one; the verifier takes the least-covered target.
 */
export function scrapesAttempted(job: string, window: Duration): PromQL {
  return minBy(['instance'], overTime('count_over_time', up(job), window));
}

export function scrapesSucceeded(job: string, window: Duration): PromQL {
  return minBy(['instance'], overTime('sum_over_time', up(job), window));
}
