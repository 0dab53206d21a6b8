import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../harness/exit-codes.ts';
import { PACKAGE_ROOT } from '../harness/util/paths.ts';
import { DEFINITIONS_DIR, jobsOf, loadDefinitionsOrThrow, type SloDefinition } from './definitions.ts';
import { PrometheusClient } from './prometheus-client.ts';
import { type Duration, durationSeconds, eventsOver, formatDuration, overTime, sumBy, up } from './promql.ts';
import { FakePrometheus } from './testing/fake-prometheus.ts';
import {
  type BaselineSource,
  CROSS_CHECKS,
  compareCounts,
  errorBudgetUsed,
  exitCodeFor,
  overallVerdict,
  queriesOf,
  type VerifyOptions,
  verify,
} from './verifier.ts';

const START = new Date('2026-01-01T00:00:00Z');
const END = new Date(START.getTime() + 60_000);
const W: Duration = formatDuration(60); // '1m', as the verifier spells a 60 s window
const STEP: Duration = '1s';

let fake: FakePrometheus;
let defs: SloDefinition[];
const def = (name: string) => {
  const d = defs.find((x) => x.name === name);
  if (!d) throw new Error(`no SLO ${name}`);
  return d;
};

beforeAll(async () => {
  fake = await new FakePrometheus().start();
  defs = await loadDefinitionsOrThrow(path.join(PACKAGE_ROOT, DEFINITIONS_DIR));
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => fake.reset());

/** Canned answers of a fully covered window: every scrape done, 60 samples, 1000 events, SLI = value. */
function healthy(
  d: SloDefinition,
  value: number,
  window: Duration = W,
  over: Partial<Record<string, number | 'empty'>> = {},
) {
  const q = queriesOf(d, window, STEP);
  const seconds = durationSeconds(window);
  for (const [purpose, query] of Object.entries(q)) {
    const canned =
      purpose === 'sli'
        ? value
        : purpose === 'events'
          ? 1000
          : purpose.startsWith('scrapes')
            ? seconds
            : purpose === 'samples'
              ? seconds
              : undefined;
    const o = over[purpose.split(':')[0]!];
    fake.answer(query, o ?? canned ?? 'empty');
  }
}

async function run(definitions: SloDefinition[], extra: Partial<VerifyOptions> = {}) {
  return verify({
    prometheus: new PrometheusClient(fake.url, { retries: 1, retryDelayMs: 1 }),
    definitions,
    window: { start: START, end: END, warmUpSeconds: 0, coolDownSeconds: 0 },
    scrapeIntervalSeconds: 1,
    crossChecks: [],
    ...extra,
  });
}

describe('verifier verdicts (fake Prometheus)', () => {
  it('passes a ratio SLO that meets its target, with the error budget used', async () => {
    healthy(def('api-availability'), 0.9995);
    const r = await run([def('api-availability')]);
    const s = r.slos[0]!;
    expect(s.verdict, s.reasons.join('; ')).toBe('pass');
    expect(s.measured).toBe(0.9995);
    expect(s.errorBudgetUsed).toBeCloseTo(0.5, 9);
    expect(r.overall).toBe('pass');
    expect(r.exitCode).toBe(ExitCode.Pass);
    // Pinned to the window: an instant query at the window end with a range equal to the window.
    expect(fake.seen.every((q) => q.time === END.getTime() / 1000)).toBe(true);
    expect(fake.seen.find((q) => q.query === s.queries.sli)?.query).toContain('[1m]');
  });

  it('fails a ratio SLO that misses its target (budget used > 1)', async () => {
    healthy(def('api-availability'), 0.99);
    const r = await run([def('api-availability')]);
    expect(r.slos[0]).toMatchObject({ verdict: 'fail', measured: 0.99 });
    expect(r.slos[0]!.errorBudgetUsed).toBeCloseTo(10, 9);
    expect(r.slos[0]!.reasons[0]).toMatch(/objective missed/);
    expect(r.exitCode).toBe(ExitCode.SloFailed);
  });

  it('passes and fails threshold SLOs on the right side of the threshold, +Inf included', async () => {
    healthy(def('send-latency-p99'), 0.2);
    expect((await run([def('send-latency-p99')])).slos[0]).toMatchObject({
      verdict: 'pass',
      errorBudgetUsed: 0.8,
    });
    fake.reset();
    healthy(def('send-latency-p99'), 0.3);
    expect((await run([def('send-latency-p99')])).slos[0]!.verdict).toBe('fail');
    // A quantile above the highest bucket is +Inf: a clear fail, not "no data" (why not prometheus-query).
    fake.reset();
    healthy(def('send-latency-p99'), Number.POSITIVE_INFINITY);
    const inf = (await run([def('send-latency-p99')])).slos[0]!;
    expect(inf).toMatchObject({ verdict: 'fail', measured: Number.POSITIVE_INFINITY });
  });

  it('is inconclusive on an empty SLI result (never pass)', async () => {
    healthy(def('api-availability'), 0.9995, W, { sli: 'empty' });
    const s = (await run([def('api-availability')])).slos[0]!;
    expect(s).toMatchObject({ verdict: 'inconclusive', measured: null, errorBudgetUsed: null });
    expect(s.reasons).toEqual(['no data: the SLI query returned nothing']);
  });

  it('is inconclusive on NaN (0/0: no events)', async () => {
    healthy(def('send-latency-p95'), Number.NaN);
    const r = await run([def('send-latency-p95')]);
    expect(r.slos[0]!.verdict).toBe('inconclusive');
    expect(r.slos[0]!.reasons).toEqual(['no data: the SLI is NaN (no events in the window)']);
    expect(r.exitCode).toBe(ExitCode.Inconclusive);
  });

  it('is inconclusive on too few samples, even when the value would pass', async () => {
    healthy(def('api-availability'), 1, W, { samples: 3 });
    const s = (await run([def('api-availability')])).slos[0]!;
    expect(s.verdict).toBe('inconclusive');
    expect(s.measured).toBe(1);
    expect(s.reasons).toEqual([expect.stringMatching(/^too few samples: 3 of chatim_http_requests_total/)]);
  });

  it('is inconclusive on a scrape gap (successful scrapes below coverage)', async () => {
    healthy(def('api-availability'), 1, W, { scrapesSucceeded: 40 });
    const s = (await run([def('api-availability')])).slos[0]!;
    expect(s.verdict).toBe('inconclusive');
    expect(s.reasons).toEqual([
      'scrape gap: job chatim-gateway had 40 successful scrapes of 60 expected at 1s (67% < 90%)',
    ]);
    // Negative control: 55 of 60 (92%) is enough.
    fake.reset();
    healthy(def('api-availability'), 1, W, { scrapesSucceeded: 55 });
    expect((await run([def('api-availability')])).slos[0]!.verdict).toBe('pass');
  });

  it('checks scrape coverage per target: one of two targets down or missing is a gap, not full coverage', async () => {
    const d = def('api-availability');
    const job = 'chatim-gateway';
    const q = queriesOf(d, W, STEP);
    const perTarget = (a: number, b?: number) => ({
      series: [
        { labels: { instance: '127.0.0.1:9101' }, value: a },
        ...(b === undefined ? [] : [{ labels: { instance: '127.0.0.1:9102' }, value: b }]),
      ],
    });
    // What a real Prometheus answers for two targets, one down (up = 0) for the whole window; also
    // the summed queries, which read 120 attempted and 60 succeeded: "full coverage" of 60 expected.
    const twoTargets = (succeeded: ReturnType<typeof perTarget>) => {
      healthy(d, 1);
      fake.answer(q[`scrapesAttempted:${job}`]!, perTarget(60, 60));
      fake.answer(q[`scrapesSucceeded:${job}`]!, succeeded);
      fake.answer(sumBy([], overTime('count_over_time', up(job), W)), 120);
      fake.answer(sumBy([], overTime('sum_over_time', up(job), W)), 60);
    };
    const gap =
      'scrape gap: job chatim-gateway target 127.0.0.1:9102 had 0 successful scrapes of 60 expected at 1s (0% < 90%)';

    twoTargets(perTarget(60, 0));
    const down = await run([d]);
    expect(down.slos[0]).toMatchObject({ verdict: 'inconclusive', reasons: [gap] });
    expect(down.overall).toBe('inconclusive');

    // The second target absent from the successful-scrapes answer counts as 0, not as covered.
    fake.reset();
    twoTargets(perTarget(60));
    expect((await run([d])).slos[0]).toMatchObject({ verdict: 'inconclusive', reasons: [gap] });

    // Negative control: both targets scraped every time.
    fake.reset();
    twoTargets(perTarget(60, 58));
    const both = (await run([d])).slos[0]!;
    expect(both.verdict, both.reasons.join()).toBe('pass');
    expect(q[`scrapesSucceeded:${job}`]).toBe(
      'min by (instance) (sum_over_time(up{job="chatim-gateway"}[1m]))',
    );
  });

  it('is inconclusive on a missing series (job never scraped, metric absent)', async () => {
    healthy(def('event-loop-lag-p99'), 0.01, W, { scrapesAttempted: 'empty', samples: 'empty' });
    const s = (await run([def('event-loop-lag-p99')])).slos[0]!;
    expect(s.verdict).toBe('inconclusive');
    expect(s.reasons).toEqual(
      expect.arrayContaining([
        'missing series: job chatim-gateway was never scraped in the window',
        'missing series: no chatim_nodejs_eventloop_lag_p99_seconds in the window',
      ]),
    );
    expect(jobsOf(def('event-loop-lag-p99').sli)).toHaveLength(3);
  });

  it('is inconclusive on too few events for a ratio', async () => {
    healthy(def('send-failure-ratio'), 1, W, { events: 4 });
    const s = (await run([def('send-failure-ratio')])).slos[0]!;
    expect(s.verdict).toBe('inconclusive');
    expect(s.reasons).toEqual(['too few events: 4 in the window (at least 10)']);
  });

  it('is inconclusive when the window is shorter than the SLO needs (drift gates on a short run)', async () => {
    const r = await run([def('heap-growth-slope')]);
    expect(r.slos[0]!.verdict).toBe('inconclusive');
    expect(r.slos[0]!.reasons[0]).toMatch(
      /^window too short: 0s after warm-up\/cool-down, this SLO needs at least 600s/,
    );
    expect(fake.seen).toEqual([]);
  });

  it('is inconclusive on a Prometheus error status, with its error text, and does not retry a 4xx', async () => {
    const d = def('api-availability');
    healthy(d, 1);
    fake.answer(queriesOf(d, W, STEP).sli!, {
      httpStatus: 422,
      errorType: 'execution',
      error: 'query too expensive',
    });
    const s = (await run([d])).slos[0]!;
    expect(s.verdict).toBe('inconclusive');
    expect(s.reasons).toEqual([expect.stringMatching(/answered 422: execution: query too expensive$/)]);
    expect(fake.seen.filter((q) => q.query === s.queries.sli)).toHaveLength(1);
  });

  it('retries a 5xx answer, then reports it as an error', async () => {
    const d = def('api-availability');
    healthy(d, 1);
    fake.answer(queriesOf(d, W, STEP).sli!, { httpStatus: 503, errorType: 'unavailable', error: 'busy' });
    const s = (await run([d])).slos[0]!;
    expect(s.verdict).toBe('inconclusive');
    expect(s.reasons[0]).toMatch(/answered 503: unavailable: busy \(after 2 attempts\)/);
    expect(fake.seen.filter((q) => q.query === s.queries.sli)).toHaveLength(2);
  });

  it('is inconclusive for every SLO when Prometheus is unreachable (and gives up after the first)', async () => {
    const closed = await new FakePrometheus().start();
    const url = closed.url;
    await closed.stop();
    const r = await verify({
      prometheus: new PrometheusClient(url, { retries: 1, retryDelayMs: 1, timeoutMs: 1000 }),
      definitions: defs,
      window: {
        start: START,
        end: new Date(START.getTime() + 3_600_000),
        warmUpSeconds: 0,
        coolDownSeconds: 0,
      },
      scrapeIntervalSeconds: 1,
    });
    expect(r.slos.map((s) => s.verdict)).toEqual(defs.map(() => 'inconclusive'));
    for (const s of r.slos) expect(s.reasons.join(' ')).toMatch(/unreachable/);
    // A cross-check whose query failed is an error, never "not checked".
    expect(r.crossChecks.map((c) => c.status)).toEqual(CROSS_CHECKS.map(() => 'error'));
    expect(r.exitCode).toBe(ExitCode.Inconclusive);
  });

  it('is inconclusive for a client SLO while no client series exist (placeholder names)', async () => {
    const d = def('delivery-latency-p95');
    const s = (await run([d])).slos[0]!;
    expect(s.verdict).toBe('inconclusive');
    expect(s.reasons[0]).toBe(
      'missing series: no chatim_client_delivery_latency_seconds_count in the window (client metric names are a placeholder until the load-driver issue)',
    );
  });

  it('trims the window by the larger of the run and SLO warm-up/cool-down', async () => {
    const d = def('api-availability');
    healthy(d, 1, '45s');
    const r = await run([d], {
      window: { start: START, end: END, warmUpSeconds: 10, coolDownSeconds: 5 },
    });
    expect(r.slos[0]!.verdict, r.slos[0]!.reasons.join()).toBe('pass');
    expect(r.slos[0]!.window).toEqual({
      start: new Date(START.getTime() + 10_000).toISOString(),
      end: new Date(END.getTime() - 5000).toISOString(),
      seconds: 45,
    });
    expect(new Set(fake.seen.map((q) => q.time))).toEqual(new Set([END.getTime() / 1000 - 5]));
  });
});

describe('relative criteria', () => {
  const d = () => def('send-latency-p95');
  const baseline = (median: number): BaselineSource => ({ lookup: () => ({ median, runs: 5 }) });

  it('passes within the tolerance of the baseline median, with the delta', async () => {
    healthy(d(), 0.021);
    const s = (await run([d()], { baseline: baseline(0.02) })).slos[0]!;
    expect(s.verdict).toBe('pass');
    expect(s.baseline).toMatchObject({
      status: 'compared',
      median: 0.02,
      runs: 5,
      tolerance: 0.1,
      verdict: 'pass',
    });
    expect(s.baseline.status === 'compared' && s.baseline.delta).toBeCloseTo(0.05, 9);
  });

  it('fails beyond the tolerance even when the absolute objective holds', async () => {
    healthy(d(), 0.03);
    const s = (await run([d()], { baseline: baseline(0.02) })).slos[0]!;
    expect(s.verdict).toBe('fail');
    expect(s.errorBudgetUsed).toBeCloseTo(0.3, 9);
    expect(s.reasons).toEqual([
      expect.stringMatching(/^worse than the baseline: 0.03 vs median 0.02 of 5 run/),
    ]);
  });

  it('reports "no baseline yet" without failing', async () => {
    healthy(d(), 0.03);
    const s = (await run([d()], { baseline: { lookup: () => undefined } })).slos[0]!;
    expect(s.verdict).toBe('pass');
    expect(s.baseline).toEqual({
      status: 'no-baseline',
      message: 'no baseline yet: no earlier passing run of this scenario and profile',
    });
  });
});

describe('cross-checks', () => {
  it('compare client and server counts within a tolerance', () => {
    expect(compareCounts('x', 1000, 990, 0.05).status).toBe('agree');
    expect(compareCounts('x', 1000, 900, 0.05)).toMatchObject({ status: 'disagree', difference: 0.1 });
    expect(compareCounts('x', 0, 0, 0.05).status).toBe('agree');
    expect(compareCounts('x', undefined, 900, 0.05)).toMatchObject({
      status: 'not checked',
      message: 'not checked: no client series in the window',
    });
    expect(compareCounts('x', undefined, undefined, 0.05).status).toBe('not checked');
  });

  it('disagree when the client saw traffic and the server has no series at all', () => {
    expect(compareCounts('x', 1000, undefined, 0.05)).toEqual({
      name: 'x',
      status: 'disagree',
      client: 1000,
      server: null,
      difference: null,
      tolerance: 0.05,
      message: "client 1000 vs no server series in the window: the server saw none of the client's traffic",
    });
    // Even zero client traffic: a missing server series is not "nothing to compare".
    expect(compareCounts('x', 0, undefined, 0.05).status).toBe('disagree');
  });

  it('are an error when a count is not a finite number', () => {
    expect(compareCounts('x', Number.NaN, 1000, 0.05)).toMatchObject({ status: 'error', difference: null });
    expect(compareCounts('x', 1000, Number.NaN, 0.05).status).toBe('error');
    expect(compareCounts('x', 1000, Number.POSITIVE_INFINITY, 0.05).status).toBe('error');
  });

  it('make a passing run inconclusive on disagree and error; only "not checked" leaves it alone', () => {
    const pass = [{ verdict: 'pass' as const }];
    expect(overallVerdict(pass, [{ status: 'agree' }, { status: 'not checked' }])).toBe('pass');
    expect(overallVerdict(pass, [{ status: 'agree' }, { status: 'disagree' }])).toBe('inconclusive');
    expect(overallVerdict(pass, [{ status: 'agree' }, { status: 'error' }])).toBe('inconclusive');
    expect(overallVerdict([{ verdict: 'fail' }], [{ status: 'error' }])).toBe('fail');
  });

  it('disagree, over the fake Prometheus, when the client counted traffic and the server series is missing', async () => {
    const d = def('api-availability');
    healthy(d, 1);
    const [, sent] = CROSS_CHECKS;
    fake.answer(eventsOver(sent!.client, W), 1000); // the server query stays unanswered: no series
    const r = await run([d], { crossChecks: [sent!] });
    expect(r.slos[0]!.verdict).toBe('pass');
    expect(r.crossChecks[0]).toMatchObject({ status: 'disagree', client: 1000, server: null });
    expect(r.overall).toBe('inconclusive');
    expect(r.exitCode).toBe(ExitCode.Inconclusive);
  });

  it('are an error, and the run inconclusive, when a cross-check query fails (client or server side)', async () => {
    const d = def('api-availability');
    const [http] = CROSS_CHECKS;
    const failing = { httpStatus: 422, errorType: 'execution', error: 'query too expensive' } as const;

    healthy(d, 1);
    fake.answer(eventsOver(http!.client, W), failing);
    const r1 = await run([d], { crossChecks: [http!] });
    expect(r1.crossChecks[0]).toMatchObject({ status: 'error', client: null, server: null });
    expect(r1.crossChecks[0]!.message).toMatch(/^error: .*answered 422: execution: query too expensive$/);
    expect(r1.overall).toBe('inconclusive');

    fake.reset();
    healthy(d, 1);
    fake.answer(eventsOver(http!.client, W), 1000).answer(eventsOver(http!.server, W), failing);
    const r2 = await run([d], { crossChecks: [http!] });
    expect(r2.crossChecks[0]).toMatchObject({ status: 'error', client: 1000, server: null });
    expect(r2.overall).toBe('inconclusive');
    expect(r2.exitCode).toBe(ExitCode.Inconclusive);
  });

  it('report "not checked" with no client series, and make a passing run inconclusive on disagreement', async () => {
    const d = def('api-availability');
    healthy(d, 1);
    const [http] = CROSS_CHECKS;
    const r1 = await run([d], { crossChecks: [http!] });
    expect(r1.crossChecks[0]!.status).toBe('not checked');
    expect(r1.overall).toBe('pass');

    fake.answer(eventsOver(http!.client, W), 1000).answer(eventsOver(http!.server, W), 700);
    const r2 = await run([d], { crossChecks: [http!] });
    expect(r2.crossChecks[0]).toMatchObject({ status: 'disagree', client: 1000, server: 700 });
    expect(r2.overall).toBe('inconclusive');

    fake.answer(eventsOver(http!.server, W), 990);
    expect((await run([d], { crossChecks: [http!] })).crossChecks[0]!.status).toBe('agree');
  });
});

describe('arithmetic and mapping', () => {
  it('computes the error budget for targets and thresholds', () => {
    expect(errorBudgetUsed({ kind: 'target', displayName: '', target: 0.99 }, 0.995)).toBeCloseTo(0.5, 9);
    expect(errorBudgetUsed({ kind: 'target', displayName: '', target: 0.99 }, 1)).toBe(0);
    expect(errorBudgetUsed({ kind: 'threshold', displayName: '', op: 'lte', value: 0.2 }, 0.05)).toBeCloseTo(
      0.25,
      9,
    );
    expect(errorBudgetUsed({ kind: 'threshold', displayName: '', op: 'gte', value: 10 }, 20)).toBe(0.5);
    expect(errorBudgetUsed({ kind: 'threshold', displayName: '', op: 'lte', value: 0 }, 0)).toBe(0);
    expect(errorBudgetUsed({ kind: 'threshold', displayName: '', op: 'lte', value: 0 }, 1)).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it('maps verdicts to exit codes: fail beats inconclusive beats pass; nothing decided is inconclusive', () => {
    const v = (...verdicts: ('pass' | 'fail' | 'inconclusive')[]) =>
      overallVerdict(verdicts.map((verdict) => ({ verdict })));
    expect(v('pass', 'pass')).toBe('pass');
    expect(v('pass', 'inconclusive')).toBe('inconclusive');
    expect(v('inconclusive', 'fail', 'pass')).toBe('fail');
    expect(v()).toBe('inconclusive');
    expect([exitCodeFor('pass'), exitCodeFor('fail'), exitCodeFor('inconclusive')]).toEqual([
      ExitCode.Pass,
      ExitCode.SloFailed,
      ExitCode.Inconclusive,
    ]);
  });

  it('never passes an SLO when Prometheus has nothing (negative control over every definition)', async () => {
    const r = await run(defs, {
      window: {
        start: START,
        end: new Date(START.getTime() + 3_600_000),
        warmUpSeconds: 0,
        coolDownSeconds: 0,
      },
    });
    expect(r.slos.filter((s) => s.verdict !== 'inconclusive')).toEqual([]);
    expect(formatDuration(3600)).toBe('1h');
  });
});
