/**
 * The verifier: decides every SLO from Prometheus over one run window. Each query is an instant
 * query at the end of the SLO's trimmed window (run window minus warm-up and cool-down) with a range
 * equal to that window, so it sees exactly the run's samples. Before a value can pass, the data must
 * be there: the scrape job was scraped often enough (no scrape gaps), the SLI's series exist with
 * enough samples, a ratio has enough events. Anything missing, NaN, or any Prometheus error makes
 * the SLO inconclusive: never a pass. docs/slos.md ("Verdicts") documents the rules.
 */
import { ExitCode } from '../harness/exit-codes.ts';
import { SCRAPE_JOBS } from '../system-under-test/kit/metrics.ts';
import { CLIENT_METRICS_PLACEHOLDER } from './client-metrics.ts';
import { EXCLUDE_HEALTH_ROUTES, jobsOf, type Objective, type SloDefinition } from './definitions.ts';
import { type InstantSample, PrometheusApiError, type PrometheusClient } from './prometheus-client.ts';
import {
  type Duration,
  eventsOver,
  formatDuration,
  maxSli,
  type PromQL,
  quantileSli,
  ratioSli,
  type SeriesRef,
  samplesIn,
  scrapesAttempted,
  scrapesSucceeded,
  slopeSli,
} from './promql.ts';

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface RunWindow {
  readonly start: Date;
  readonly end: Date;
  /** Cut from the start of the window for every SLO (an SLO may ask for more). */
  readonly warmUpSeconds: number;
  /** Cut from the end of the window for every SLO (an SLO may ask for more). */
  readonly coolDownSeconds: number;
}

/** Baseline medians for relative criteria (slo/baseline.ts builds one from the history file). */
export interface BaselineSource {
  /** Median measured value of `slo` over the last `runs` passing runs, or undefined when there are none. */
  lookup(slo: string, runs: number): { readonly median: number; readonly runs: number } | undefined;
}

export type BaselineReport =
  | { readonly status: 'not-applicable' }
  | { readonly status: 'no-baseline'; readonly message: string }
  | {
      readonly status: 'compared';
      readonly median: number;
      readonly runs: number;
      /** (measured − median) / median; null when the median is 0. */
      readonly delta: number | null;
      readonly tolerance: number;
      readonly verdict: 'pass' | 'fail';
    };

export interface SloResult {
  readonly name: string;
  readonly displayName: string;
  readonly measuredAt: SloDefinition['measuredAt'];
  readonly unit: SloDefinition['unit'];
  readonly verdict: Verdict;
  /** Why the verdict is not a plain pass (inconclusive causes, the failed objective, the baseline). */
  readonly reasons: readonly string[];
  /** The SLI value over the window; null when there is none (NaN and ±Inf are kept as numbers). */
  readonly measured: number | null;
  readonly objective: Objective;
  /**
   * Share of the error budget used: ratio SLIs (1 − measured) / (1 − target); threshold SLIs the
   * share of the threshold used (measured / value for lte/lt, value / measured for gte/gt). Above 1
   * means the objective is missed. Null when nothing was measured.
   */
  readonly errorBudgetUsed: number | null;
  readonly baseline: BaselineReport;
  readonly window: { readonly start: string; readonly end: string; readonly seconds: number };
  /** Every query this SLO ran, by purpose (for the report and for reproducing a verdict). */
  readonly queries: Readonly<Record<string, PromQL>>;
}

export interface CrossCheck {
  readonly name: string;
  readonly description: string;
  readonly client: SeriesRef;
  readonly server: SeriesRef;
}

/**
 * `agree` / `disagree`: both counts were read and compared. `not checked`: the load driver wrote no
 * series (nothing to compare; the only status that leaves the verdict alone). `error`: a query failed
 * or gave a value that is not a count, so the check could not be carried out: the run is inconclusive.
 */
export type CrossCheckStatus = 'agree' | 'disagree' | 'not checked' | 'error';

export interface CrossCheckResult {
  readonly name: string;
  readonly status: CrossCheckStatus;
  readonly client: number | null;
  readonly server: number | null;
  /** |client − server| / max(client, server); null when not compared. */
  readonly difference: number | null;
  readonly tolerance: number;
  readonly message: string;
}

export interface VerifyResult {
  readonly window: {
    readonly start: string;
    readonly end: string;
    readonly warmUpSeconds: number;
    readonly coolDownSeconds: number;
  };
  readonly slos: readonly SloResult[];
  readonly crossChecks: readonly CrossCheckResult[];
  readonly overall: Verdict;
  readonly exitCode: ExitCode;
  /** Wall time of the verification, in ms. */
  readonly elapsedMs: number;
}

export interface VerifyOptions {
  readonly prometheus: PrometheusClient;
  readonly definitions: readonly SloDefinition[];
  readonly window: RunWindow;
  /** Prometheus' scrape interval in this run (the stack's timing profile). */
  readonly scrapeIntervalSeconds: number;
  readonly baseline?: BaselineSource | undefined;
  /** Successful scrapes / expected scrapes below this is a scrape gap (default 0.9). */
  readonly minScrapeCoverage?: number;
  /** Fewer samples than this of an SLI's series in the window is too little data (default 5). */
  readonly minSamples?: number;
  readonly crossChecks?: readonly CrossCheck[];
  /** Allowed client/server count difference, as a fraction (default 0.05). */
  readonly crossCheckTolerance?: number;
  readonly now?: () => number;
}

const GATEWAY_JOB = SCRAPE_JOBS.gateway;
const MESSAGE_JOB = SCRAPE_JOBS['message-service'];

/** Client and server views of the same traffic; compared when the load driver's series exist. */
export const CROSS_CHECKS: readonly CrossCheck[] = [
  {
    name: 'http-requests',
    description: 'HTTP requests the load driver sent vs requests the gateway answered',
    client: { metric: 'chatim_client_http_requests_total', matchers: [] },
    server: {
      metric: 'chatim_http_requests_total',
      matchers: [['job', '=', GATEWAY_JOB], EXCLUDE_HEALTH_ROUTES],
    },
  },
  {
    name: 'messages-sent',
    description: 'Messages the load driver saw accepted vs sends the message-service made durable',
    client: { metric: 'chatim_client_messages_sent_total', matchers: [['status', '=', 'success']] },
    server: {
      metric: 'chatim_messages_sent_total',
      matchers: [
        ['job', '=', MESSAGE_JOB],
        ['status', '=', 'success'],
      ],
    },
  },
];

/** The exit code of a verification: any fail → SloFailed; else any inconclusive → Inconclusive; else Pass. */
export function exitCodeFor(overall: Verdict): ExitCode {
  return overall === 'fail'
    ? ExitCode.SloFailed
    : overall === 'inconclusive'
      ? ExitCode.Inconclusive
      : ExitCode.Pass;
}

/**
 * Fail beats inconclusive beats pass. A cross-check that disagrees (the server saw other traffic than
 * the client, or none) or could not be carried out (`error`) makes a pass inconclusive; only
 * `not checked` (no client series at all) leaves it alone.
 */
export function overallVerdict(
  slos: readonly { verdict: Verdict }[],
  crossChecks: readonly Pick<CrossCheckResult, 'status'>[] = [],
): Verdict {
  if (slos.length === 0) return 'inconclusive';
  if (slos.some((s) => s.verdict === 'fail')) return 'fail';
  if (slos.some((s) => s.verdict === 'inconclusive')) return 'inconclusive';
  if (crossChecks.some((c) => c.status === 'disagree' || c.status === 'error')) return 'inconclusive';
  return 'pass';
}

/**
 * Compares client and server counts of the same traffic. No client series (undefined) is the only
 * "not checked"; client traffic with no server series is a disagreement (the server saw none of it);
 * a count that is not a finite number is an error (nothing can be compared).
 */
export function compareCounts(
  name: string,
  client: number | undefined,
  server: number | undefined,
  tolerance: number,
): CrossCheckResult {
  const base = { name, tolerance, client: client ?? null, server: server ?? null };
  if (client === undefined) {
    return {
      ...base,
      status: 'not checked',
      difference: null,
      message: 'not checked: no client series in the window',
    };
  }
  if (!Number.isFinite(client) || (server !== undefined && !Number.isFinite(server))) {
    return {
      ...base,
      status: 'error',
      difference: null,
      message: `error: counts must be finite numbers, got client ${client} and server ${server}`,
    };
  }
  if (server === undefined) {
    return {
      ...base,
      status: 'disagree',
      difference: null,
      message: `client ${client.toFixed(0)} vs no server series in the window: the server saw none of the client's traffic`,
    };
  }
  const largest = Math.max(Math.abs(client), Math.abs(server));
  const difference = largest === 0 ? 0 : Math.abs(client - server) / largest;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return difference <= tolerance
    ? {
        ...base,
        status: 'agree',
        difference,
        message: `client ${client.toFixed(0)} vs server ${server.toFixed(0)}: ${pct(difference)} apart (≤ ${pct(tolerance)})`,
      }
    : {
        ...base,
        status: 'disagree',
        difference,
        message: `client ${client.toFixed(0)} vs server ${server.toFixed(0)}: ${pct(difference)} apart, more than ${pct(tolerance)}`,
      };
}

/** Whether `measured` meets the objective. */
export function meets(objective: Objective, measured: number): boolean {
  if (objective.kind === 'target') return measured >= objective.target;
  switch (objective.op) {
    case 'lt':
      return measured < objective.value;
    case 'lte':
      return measured <= objective.value;
    case 'gt':
      return measured > objective.value;
    case 'gte':
      return measured >= objective.value;
  }
}

/** Error budget used (see SloResult.errorBudgetUsed). */
export function errorBudgetUsed(objective: Objective, measured: number): number {
  if (objective.kind === 'target') return (1 - measured) / (1 - objective.target);
  const lowerIsBetter = objective.op === 'lt' || objective.op === 'lte';
  const [used, allowed] = lowerIsBetter ? [measured, objective.value] : [objective.value, measured];
  if (allowed === 0) return used <= 0 ? 0 : Number.POSITIVE_INFINITY;
  return used / allowed;
}

/** Lower values are better for this objective (latency, lag, loss, slopes) — for the relative criterion. */
function lowerIsBetter(objective: Objective): boolean {
  return objective.kind === 'threshold' && (objective.op === 'lt' || objective.op === 'lte');
}

/** Relative criterion: no worse than the baseline median by more than `tolerance`. */
export function compareWithBaseline(
  objective: Objective,
  measured: number,
  baseline: { median: number; runs: number },
  tolerance: number,
): BaselineReport {
  const delta = baseline.median === 0 ? null : (measured - baseline.median) / Math.abs(baseline.median);
  const ok = lowerIsBetter(objective)
    ? measured <= baseline.median * (1 + tolerance)
    : measured >= baseline.median * (1 - tolerance);
  return {
    status: 'compared',
    median: baseline.median,
    runs: baseline.runs,
    delta,
    tolerance,
    verdict: ok ? 'pass' : 'fail',
  };
}

/** The SLI query of a definition over `window`, with `step` for subqueries. */
export function sliQuery(def: SloDefinition, window: Duration, step: Duration): PromQL {
  const sli = def.sli;
  if (sli.kind === 'ratio') return ratioSli(sli, window);
  const a = sli.aggregation;
  switch (a.type) {
    case 'histogram_quantile':
      return quantileSli(a.quantile, sli.source, window);
    case 'max_over_time':
      return maxSli(sli.source, window, step, a.sumFirst);
    case 'slope':
      return slopeSli(sli.source, window, step, a.sumFirst);
    case 'increase':
      return eventsOver(sli.source, window);
  }
}

/** The series whose samples show whether the SLI has data (a histogram's `_count`). */
function primarySeries(def: SloDefinition): { ref: SeriesRef; suffix: string } {
  if (def.sli.kind === 'ratio') return { ref: def.sli.total, suffix: '' };
  return { ref: def.sli.source, suffix: def.sli.aggregation.type === 'histogram_quantile' ? '_count' : '' };
}

/** Every query of a definition (SLI, coverage, events), for a window: what promtool parses in the tests. */
export function queriesOf(def: SloDefinition, window: Duration, step: Duration): Record<string, PromQL> {
  const primary = primarySeries(def);
  const queries: Record<string, PromQL> = {
    sli: sliQuery(def, window, step),
    samples: samplesIn(primary.ref, window, primary.suffix),
  };
  if (def.sli.kind === 'ratio') queries.events = eventsOver(def.sli.total, window);
  if (def.measuredAt === 'server') {
    for (const job of jobsOf(def.sli)) {
      queries[`scrapesAttempted:${job}`] = scrapesAttempted(job, window);
      queries[`scrapesSucceeded:${job}`] = scrapesSucceeded(job, window);
    }
  }
  return queries;
}

/** One number from an instant query: undefined for no data; an error for more than one series. */
function single(samples: readonly InstantSample[], query: PromQL): number | undefined {
  if (samples.length === 0) return undefined;
  if (samples.length > 1) {
    throw new Error(`expected one value from ${query}, got ${samples.length} series`);
  }
  return samples[0]!.value;
}

const fmt = (n: number) => (Number.isFinite(n) ? String(Number(n.toPrecision(4))) : String(n));

export async function verify(options: VerifyOptions): Promise<VerifyResult> {
  const now = options.now ?? Date.now;
  const t0 = now();
  const prom = options.prometheus;
  const minCoverage = options.minScrapeCoverage ?? 0.9;
  const minSamples = options.minSamples ?? 5;
  const tolerance = options.crossCheckTolerance ?? 0.05;
  const interval = options.scrapeIntervalSeconds;
  const step = formatDuration(interval);
  const w = options.window;
  // A transport failure (Prometheus unreachable) ends the querying: every SLO after it is
  // inconclusive with the same error, instead of waiting out the retries once per query.
  let unreachable: PrometheusApiError | undefined;

  const vector = async (q: PromQL, at: Date): Promise<InstantSample[]> => {
    if (unreachable) throw unreachable;
    try {
      return await prom.instantQuery(q, at);
    } catch (err) {
      if (err instanceof PrometheusApiError && err.status === undefined) unreachable = err;
      throw err;
    }
  };
  const query = async (q: PromQL, at: Date): Promise<number | undefined> => single(await vector(q, at), q);

  const coverageCache = new Map<string, Promise<string | undefined>>();
  /**
   * A reason the job's scrapes do not cover the window, or undefined when they do. Coverage is per
   * target: every target the job had in the window must have been scraped successfully often enough
   * (a target missing from the successful-scrapes answer counts as 0), so one target down for the
   * whole window is a gap even when the job's other targets were scraped every time.
   */
  const scrapeGap = (job: string, window: Duration, seconds: number, at: Date) => {
    const key = `${job}|${window}|${at.getTime()}`;
    let p = coverageCache.get(key);
    if (!p) {
      p = (async () => {
        const target = (s: InstantSample) => s.metric.instance ?? '';
        const attempted = (await vector(scrapesAttempted(job, window), at)).filter((s) => s.value > 0);
        if (attempted.length === 0) return `missing series: job ${job} was never scraped in the window`;
        const succeeded = new Map<string, number>();
        for (const s of await vector(scrapesSucceeded(job, window), at)) {
          const t = target(s);
          succeeded.set(t, Math.min(succeeded.get(t) ?? Number.POSITIVE_INFINITY, s.value));
        }
        const expected = Math.max(1, Math.floor(seconds / interval));
        const gaps: string[] = [];
        for (const t of [...new Set([...attempted.map(target), ...succeeded.keys()])].sort()) {
          const ok = succeeded.get(t) ?? 0;
          const coverage = Math.min(1, ok / expected);
          if (!(coverage >= minCoverage))
            gaps.push(
              `job ${job}${t ? ` target ${t}` : ''} had ${fmt(ok)} successful scrapes of ${expected} expected at ${interval}s (${(coverage * 100).toFixed(0)}% < ${(minCoverage * 100).toFixed(0)}%)`,
            );
        }
        return gaps.length === 0 ? undefined : `scrape gap: ${gaps.join('; ')}`;
      })();
      coverageCache.set(key, p);
    }
    return p;
  };

  const results: SloResult[] = [];
  for (const def of options.definitions) {
    const startMs = w.start.getTime() + Math.max(w.warmUpSeconds, def.warmUpSeconds) * 1000;
    const endMs = w.end.getTime() - Math.max(w.coolDownSeconds, def.coolDownSeconds) * 1000;
    const seconds = Math.max(0, Math.floor((endMs - startMs) / 1000));
    const at = new Date(startMs + seconds * 1000);
    const range = formatDuration(Math.max(seconds, 1));
    const queries = queriesOf(def, range, step);
    const reasons: string[] = [];
    let measured: number | undefined;
    let verdict: Verdict = 'inconclusive';
    let baseline: BaselineReport = { status: 'not-applicable' };
    const base = {
      name: def.name,
      displayName: def.displayName,
      measuredAt: def.measuredAt,
      unit: def.unit,
      objective: def.objective,
      window: { start: new Date(startMs).toISOString(), end: at.toISOString(), seconds },
      queries,
    };

    const needSeconds = Math.max(def.minWindowSeconds, minSamples * interval);
    try {
      if (seconds < needSeconds) {
        reasons.push(
          `window too short: ${seconds}s after warm-up/cool-down, this SLO needs at least ${needSeconds}s`,
        );
      } else {
        if (def.measuredAt === 'server') {
          for (const job of jobsOf(def.sli)) {
            const gap = await scrapeGap(job, range, seconds, at);
            if (gap) reasons.push(gap);
          }
        }
        const primary = primarySeries(def);
        const samples = await query(queries.samples!, at);
        const series = `${primary.ref.metric}${primary.suffix}`;
        if (samples === undefined) {
          reasons.push(
            def.measuredAt === 'client' && CLIENT_METRICS_PLACEHOLDER
              ? `missing series: no ${series} in the window (client metric names are a placeholder until the load-driver issue)`
              : `missing series: no ${series} in the window`,
          );
        } else if (samples < minSamples) {
          reasons.push(
            `too few samples: ${fmt(samples)} of ${series} in the window (at least ${minSamples})`,
          );
        }
        if (queries.events) {
          const events = await query(queries.events, at);
          if (events !== undefined && events < def.minEvents) {
            reasons.push(`too few events: ${fmt(events)} in the window (at least ${def.minEvents})`);
          }
        }
        measured = await query(queries.sli!, at);
        if (measured === undefined) reasons.push('no data: the SLI query returned nothing');
        else if (Number.isNaN(measured)) reasons.push('no data: the SLI is NaN (no events in the window)');
        if (reasons.length === 0 && measured !== undefined) {
          verdict = meets(def.objective, measured) ? 'pass' : 'fail';
          if (verdict === 'fail')
            reasons.push(`objective missed: ${fmt(measured)} (${def.objective.displayName})`);
          if (def.relative) {
            const found = options.baseline?.lookup(def.name, def.relative.runs);
            if (!found) {
              baseline = {
                status: 'no-baseline',
                message: 'no baseline yet: no earlier passing run of this scenario and profile',
              };
            } else {
              const compared = compareWithBaseline(def.objective, measured, found, def.relative.tolerance);
              baseline = compared;
              if (compared.status === 'compared' && compared.verdict === 'fail') {
                verdict = 'fail';
                reasons.push(
                  `worse than the baseline: ${fmt(measured)} vs median ${fmt(found.median)} of ${found.runs} run(s), beyond ±${(def.relative.tolerance * 100).toFixed(0)}%`,
                );
              }
            }
          }
        }
      }
    } catch (err) {
      verdict = 'inconclusive';
      reasons.push(`error: ${(err as Error).message}`);
    }
    const m = measured === undefined ? null : measured;
    results.push({
      ...base,
      verdict,
      reasons,
      measured: m,
      errorBudgetUsed: m === null || Number.isNaN(m) ? null : errorBudgetUsed(def.objective, m),
      baseline,
    });
  }

  const crossChecks: CrossCheckResult[] = [];
  const checks = options.crossChecks ?? CROSS_CHECKS;
  const range = formatDuration(
    Math.max(
      1,
      Math.floor((w.end.getTime() - w.start.getTime()) / 1000 - w.warmUpSeconds - w.coolDownSeconds),
    ),
  );
  const at = new Date(w.end.getTime() - w.coolDownSeconds * 1000);
  for (const check of checks) {
    // A failed query is an error, never "not checked": it must not let the run pass.
    let client: number | undefined;
    try {
      client = await query(eventsOver(check.client, range), at);
      const server = client === undefined ? undefined : await query(eventsOver(check.server, range), at);
      crossChecks.push(compareCounts(check.name, client, server, tolerance));
    } catch (err) {
      crossChecks.push({
        name: check.name,
        status: 'error',
        client: client ?? null,
        server: null,
        difference: null,
        tolerance,
        message: `error: ${(err as Error).message}`,
      });
    }
  }

  const overall = overallVerdict(results, crossChecks);
  return {
    window: {
      start: w.start.toISOString(),
      end: w.end.toISOString(),
      warmUpSeconds: w.warmUpSeconds,
      coolDownSeconds: w.coolDownSeconds,
    },
    slos: results,
    crossChecks,
    overall,
    exitCode: exitCodeFor(overall),
    elapsedMs: now() - t0,
  };
}
