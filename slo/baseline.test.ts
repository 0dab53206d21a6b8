import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../harness/exit-codes.ts';
import {
  baselineFrom,
  DEFAULT_HISTORY_PATH,
  type HistoryEntry,
  HistoryFile,
  HistoryFileError,
  historyEntry,
  historyPath,
  median,
} from './baseline.ts';
import type { SloResult, VerifyResult } from './verifier.ts';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'chatim-slo-baseline-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const entry = (
  n: number,
  overall: HistoryEntry['overall'],
  p95: number | null,
  scenario = 'chat',
  profile = 'gate',
): HistoryEntry => ({
  schemaVersion: 1,
  runId: `run-${n}`,
  scenario,
  profile,
  at: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
  overall,
  slos: { 'send-latency-p95': { verdict: overall, measured: p95 } },
});

describe('baseline', () => {
  it('is the median of the last N passing runs of the same scenario and profile', () => {
    const history = [
      entry(1, 'pass', 0.5), // too old for N = 3
      entry(2, 'pass', 0.01),
      entry(3, 'fail', 9), // not passing
      entry(4, 'pass', 0.03),
      entry(5, 'pass', 7, 'chat', 'soak'), // other profile
      entry(6, 'pass', 7, 'storm', 'gate'), // other scenario
      entry(7, 'inconclusive', 8),
      entry(8, 'pass', 0.02),
    ];
    const b = baselineFrom(history, 'chat', 'gate');
    expect(b.lookup('send-latency-p95', 3)).toEqual({ median: 0.02, runs: 3 });
    expect(b.lookup('send-latency-p95', 4)).toEqual({ median: (0.02 + 0.03) / 2, runs: 4 });
    expect(b.lookup('send-latency-p99', 3)).toBeUndefined();
    expect(baselineFrom(history, 'chat', 'nightly').lookup('send-latency-p95', 3)).toBeUndefined();
  });

  it('computes medians of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });

  it('round-trips through the JSON-lines history file; a missing file is an empty history', async () => {
    const file = new HistoryFile(path.join(scratch, 'nested', 'history.jsonl'));
    expect(await file.read()).toEqual([]);
    const slo = { name: 'send-latency-p95', verdict: 'pass', measured: 0.02 } as unknown as SloResult;
    const inf = {
      name: 'send-latency-p99',
      verdict: 'fail',
      measured: Number.POSITIVE_INFINITY,
    } as unknown as SloResult;
    const result = { overall: 'pass', slos: [slo, inf], exitCode: ExitCode.Pass } as unknown as VerifyResult;
    const e = historyEntry({ runId: 'r1', scenario: 'chat', profile: 'gate' }, result, new Date(0));
    await file.append(e);
    await file.append({ ...e, runId: 'r2' });
    const read = await file.read();
    expect(read.map((x) => x.runId)).toEqual(['r1', 'r2']);
    expect(read[0]!.slos).toEqual({
      'send-latency-p95': { verdict: 'pass', measured: 0.02 },
      'send-latency-p99': { verdict: 'fail', measured: null },
    });
    expect((await file.baseline('chat', 'gate')).lookup('send-latency-p95', 5)).toEqual({
      median: 0.02,
      runs: 2,
    });
  });

  it('names the line of a corrupt or foreign history file', async () => {
    const f = path.join(scratch, 'bad.jsonl');
    await writeFile(f, `${JSON.stringify(entry(1, 'pass', 1))}\n{oops\n`);
    await expect(new HistoryFile(f).read()).rejects.toThrow(HistoryFileError);
    await expect(new HistoryFile(f).read()).rejects.toThrow(/bad\.jsonl:2: not JSON/);
    await writeFile(f, `${JSON.stringify({ ...entry(1, 'pass', 1), schemaVersion: 9 })}\n`);
    await expect(new HistoryFile(f).read()).rejects.toThrow(/:1: schemaVersion 9/);
  });

  it('lives at a configurable path', () => {
    expect(historyPath({}, '/repo')).toBe(path.join('/repo', DEFAULT_HISTORY_PATH));
    expect(historyPath({ CHATIM_SLO_HISTORY: '/var/h.jsonl' }, '/repo')).toBe('/var/h.jsonl');
  });
});
