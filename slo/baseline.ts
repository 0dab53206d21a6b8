/**
 * Run history and baselines. Every verdict is appended as one JSON line to a local history file
 * (configurable path; CHATIM_SLO_HISTORY or the default under reports/out/). A relative criterion
 * compares an SLO's measured value with the median of the last N *passing* runs of the same
 * scenario and profile; with none yet the verifier reports "no baseline", never a failure.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BaselineSource, Verdict, VerifyResult } from './verifier.ts';

export const HISTORY_SCHEMA_VERSION = 1;

/** Default history file, relative to the package root (reports/out/ is git-ignored). */
export const DEFAULT_HISTORY_PATH = path.join('reports', 'out', 'history.jsonl');

export function historyPath(env: Readonly<Record<string, string | undefined>>, root: string): string {
  return path.resolve(root, env.CHATIM_SLO_HISTORY ?? DEFAULT_HISTORY_PATH);
}

export interface RunIdentity {
  readonly runId: string;
  readonly scenario: string;
  readonly profile: string;
}

export interface HistoryEntry extends RunIdentity {
  readonly schemaVersion: typeof HISTORY_SCHEMA_VERSION;
  /** When the verdict was decided (ISO 8601). */
  readonly at: string;
  readonly overall: Verdict;
  readonly slos: Readonly<Record<string, { readonly verdict: Verdict; readonly measured: number | null }>>;
}

export class HistoryFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HistoryFileError';
  }
}

export function historyEntry(run: RunIdentity, result: VerifyResult, at: Date): HistoryEntry {
  return {
    schemaVersion: HISTORY_SCHEMA_VERSION,
    ...run,
    at: at.toISOString(),
    overall: result.overall,
    slos: Object.fromEntries(
      result.slos.map((s) => [
        s.name,
        {
          verdict: s.verdict,
          measured: s.measured !== null && Number.isFinite(s.measured) ? s.measured : null,
        },
      ]),
    ),
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Baseline from history entries: for `slo`, the median measured value over the last `runs` entries
 * of the same scenario and profile whose overall verdict was pass (oldest first in `entries`).
 */
export function baselineFrom(
  entries: readonly HistoryEntry[],
  scenario: string,
  profile: string,
): BaselineSource {
  const passing = entries.filter(
    (e) => e.scenario === scenario && e.profile === profile && e.overall === 'pass',
  );
  return {
    lookup(slo, runs) {
      const values = passing
        .map((e) => e.slos[slo]?.measured)
        .filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
        .slice(-runs);
      return values.length === 0 ? undefined : { median: median(values), runs: values.length };
    },
  };
}

/** The JSON-lines history file. */
export class HistoryFile {
  constructor(readonly file: string) {}

  /** Every entry, oldest first; a missing file is an empty history; a bad line is an error naming it. */
  async read(): Promise<HistoryEntry[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const entries: HistoryEntry[] = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      let entry: HistoryEntry;
      try {
        entry = JSON.parse(line) as HistoryEntry;
      } catch (err) {
        throw new HistoryFileError(`${this.file}:${i + 1}: not JSON (${(err as Error).message})`);
      }
      if (entry.schemaVersion !== HISTORY_SCHEMA_VERSION) {
        throw new HistoryFileError(
          `${this.file}:${i + 1}: schemaVersion ${JSON.stringify(entry.schemaVersion)}, this version reads ${HISTORY_SCHEMA_VERSION}`,
        );
      }
      entries.push(entry);
    });
    return entries;
  }

  async append(entry: HistoryEntry): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify(entry)}\n`);
  }

  async baseline(scenario: string, profile: string): Promise<BaselineSource> {
    return baselineFrom(await this.read(), scenario, profile);
  }
}
