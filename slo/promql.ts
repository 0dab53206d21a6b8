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
