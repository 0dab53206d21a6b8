/**
 * The verifier on the real native stack: healthy chat traffic → every server SLO that a short run
 * can decide passes, client SLOs are inconclusive (no load-driver series yet), drift gates are
 * inconclusive (window too short); the gateway's error fault → availability fails and nothing else
 * does; Prometheus killed → inconclusive, never pass. One stack for the whole file.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../harness/exit-codes.ts';
import { NativeStackRuntime } from '../harness/stack/native/runtime.ts';
import { fullStackComponents, SUT_JOBS } from '../harness/stack/native/sut-components.ts';
import type { StartedStack } from '../harness/stack/types.ts';
import { PACKAGE_ROOT } from '../harness/util/paths.ts';
import { ChatFlow } from '../test/support/chat-flow.ts';
import { waitForScrape } from '../test/support/stack.ts';
import { DEFINITIONS_DIR, loadDefinitionsOrThrow, type SloDefinition } from './definitions.ts';
import { PrometheusClient } from './prometheus-client.ts';
import { durationSeconds } from './promql.ts';
import { type RunWindow, type VerifyResult, verify } from './verifier.ts';

const DEBUG_TOKEN = 'slo-verifier-debug-token-0123456789';
const JOBS = Object.values(SUT_JOBS);
/** Traffic rounds per window, each followed by a scrape (the SLOs need ≥ 5 samples). */
const ROUNDS = 8;

let stack: StartedStack;
let prom: PrometheusClient;
let flow: ChatFlow;
let defs: SloDefinition[];
let scrapeInterval: number;
let gateway: string;

const verdicts = (r: VerifyResult) => Object.fromEntries(r.slos.map((s) => [s.name, s.verdict]));
const explain = (r: VerifyResult) =>
  r.slos.map((s) => `${s.name}: ${s.verdict} ${s.measured} ${s.reasons.join('; ')}`).join('\n');

async function run(window: RunWindow): Promise<VerifyResult> {
  return verify({ prometheus: prom, definitions: defs, window, scrapeIntervalSeconds: scrapeInterval });
}

/** The window of `traffic`: from just before it to the first scrape of every service after it. */
async function trafficWindow(traffic: () => Promise<void>): Promise<RunWindow> {
  const start = new Date();
  await traffic();
  // Two scrapes after the traffic, so its last counter increments are in the window.
  await waitForScrape(prom, JOBS, Date.now());
  await waitForScrape(prom, JOBS, Date.now());
  return { start, end: new Date(), warmUpSeconds: 0, coolDownSeconds: 0 };
}

async function debug(method: string, route: string, body?: unknown): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${stack.component('gateway').ports.debug}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${DEBUG_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} → ${res.status}: ${text}`);
}

const SERVER_DECIDABLE = [
  'api-availability',
  'send-latency-p95',
  'send-latency-p99',
  'send-failure-ratio',
  'event-loop-lag-p99',
  'persist-backlog-max',
];
const DRIFT = ['heap-growth-slope', 'rss-growth-slope', 'backlog-growth-slope', 'open-handles-growth-slope'];
const CLIENT = ['delivery-latency-p95', 'delivery-latency-p99', 'lost-messages', 'ws-connect-success'];

beforeAll(async () => {
  defs = await loadDefinitionsOrThrow(path.join(PACKAGE_ROOT, DEFINITIONS_DIR));
  stack = await new NativeStackRuntime(() => fullStackComponents({ debugToken: DEBUG_TOKEN })).start({
    readyTimeoutMs: 60_000,
  });
  scrapeInterval = durationSeconds(stack.profile.scrapeInterval as `${number}s`);
  prom = new PrometheusClient(stack.endpoints.prometheus.url);
  gateway = `http://127.0.0.1:${stack.component('gateway').ports.main}`;
  flow = new ChatFlow(gateway);
  await waitForScrape(prom, JOBS, Date.now());
});
afterAll(async () => {
  flow?.close();
  await stack?.stop();
});

describe('verifier on the real stack', () => {
  let healthy: RunWindow;
  let healthyResult: VerifyResult;

  it('passes the server SLOs over healthy traffic; client SLOs and drift gates are inconclusive', async () => {
    healthy = await trafficWindow(async () => {
      // Rounds separated by scrapes: the window spans at least ROUNDS scrape intervals of traffic.
      for (let round = 0; round < ROUNDS; round++) {
        const r = await flow.run({ pairs: 2, perPair: 4, group: 2 });
        expect(r.sent).toBe(2 * 4 + 2);
        await waitForScrape(prom, JOBS, Date.now());
      }
    });
    healthyResult = await run(healthy);
    const v = verdicts(healthyResult);
    for (const name of SERVER_DECIDABLE) expect(v[name], explain(healthyResult)).toBe('pass');
    for (const name of [...CLIENT, ...DRIFT]) expect(v[name], name).toBe('inconclusive');
    expect(Object.keys(v).sort()).toEqual([...SERVER_DECIDABLE, ...CLIENT, ...DRIFT].sort());
    const availability = healthyResult.slos.find((s) => s.name === 'api-availability')!;
    expect(availability.measured).toBe(1);
    expect(availability.errorBudgetUsed).toBe(0);
    for (const name of DRIFT) {
      expect(healthyResult.slos.find((s) => s.name === name)!.reasons[0]).toMatch(/^window too short/);
    }
    for (const name of CLIENT) {
      expect(healthyResult.slos.find((s) => s.name === name)!.reasons.join()).toMatch(/placeholder/);
    }
    expect(healthyResult.crossChecks.map((c) => c.status)).toEqual(['not checked', 'not checked']);
    expect(healthyResult.exitCode).toBe(ExitCode.Inconclusive);
  });

  it("fails availability, and only what it should, while the gateway's error fault is on", async () => {
    const [a, b] = [await flow.user('faultA'), await flow.user('faultB')];
    await flow.befriend(a, b);
    let failed = 0;
    let ok = 0;
    const window = await trafficWindow(async () => {
      await debug('PUT', '/debug/faults/error?seconds=120', { rate: 0.5, status: 500 });
      try {
        for (let i = 0; i < ROUNDS * 8; i++) {
          if (i % 8 === 7) await waitForScrape(prom, JOBS, Date.now());
          try {
            if (i % 2 === 0) {
              await flow.call('POST', '/messages/send', a.token, { to_user_id: b.id, content: `fault ${i}` });
            } else {
              await flow.call('GET', '/conversations', b.token);
            }
            ok++;
          } catch {
            failed++;
          }
        }
      } finally {
        await debug('DELETE', '/debug/faults');
      }
    });
    expect(failed).toBeGreaterThan(5);
    expect(ok).toBeGreaterThan(5);
    const r = await run(window);
    const v = verdicts(r);
    expect(v['api-availability'], explain(r)).toBe('fail');
    const availability = r.slos.find((s) => s.name === 'api-availability')!;
    expect(availability.measured).toBeLessThan(0.95);
    expect(availability.errorBudgetUsed).toBeGreaterThan(1);
    // The fault is at the gateway: sends that got through were fine, so nothing else fails.
    expect(r.slos.filter((s) => s.verdict === 'fail').map((s) => s.name)).toEqual(['api-availability']);
    for (const name of [
      'send-latency-p95',
      'send-latency-p99',
      'send-failure-ratio',
      'persist-backlog-max',
    ]) {
      expect(v[name], explain(r)).toBe('pass');
    }
    expect(r.exitCode).toBe(ExitCode.SloFailed);
  });

  it('is inconclusive, never pass, once Prometheus is killed', async () => {
    await stack.component('prometheus').kill();
    const r = await verify({
      prometheus: new PrometheusClient(stack.endpoints.prometheus.url, { retries: 1, retryDelayMs: 50 }),
      definitions: defs,
      window: healthy,
      scrapeIntervalSeconds: scrapeInterval,
    });
    expect(r.slos.filter((s) => s.verdict !== 'inconclusive')).toEqual([]);
    const decidable = r.slos.filter((s) => SERVER_DECIDABLE.includes(s.name));
    for (const s of decidable) expect(s.reasons.join(), s.name).toMatch(/unreachable/);
    expect(r.overall).toBe('inconclusive');
    expect(r.exitCode).toBe(ExitCode.Inconclusive);
  });
});
