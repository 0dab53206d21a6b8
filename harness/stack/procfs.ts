import { readdir, readFile } from 'node:fs/promises';

/** What /proc/<pid>/stat says about a process (Linux only). */
export interface ProcStat {
  readonly pid: number;
  readonly state: string;
  readonly pgrp: number;
  /** Start time in clock ticks since boot: with the pid, it identifies a process even after pid reuse. */
  readonly startTime: number;
}

export function parseProcStat(text: string): ProcStat | undefined {
  // The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
  const close = text.lastIndexOf(')');
  const open = text.indexOf('(');
  if (open < 0 || close < 0) return undefined;
  const pid = Number.parseInt(text.slice(0, open), 10);
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const state = rest[0];
  const pgrp = Number(rest[2]);
  const startTime = Number(rest[19]);
  if (state === undefined || !Number.isFinite(pid) || !Number.isFinite(pgrp) || !Number.isFinite(startTime)) {
    return undefined;
  }
  return { pid, state, pgrp, startTime };
}

export async function procStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive (not a zombie) and, if given, started at `startTime` (so it is the same process). */
export async function isSameProcessAlive(pid: number, startTime?: number): Promise<boolean> {
  const stat = await procStat(pid);
  if (!stat || stat.state === 'Z') return false;
  return startTime === undefined || stat.startTime === startTime;
}

/** Live (non-zombie) members of process group `pgid`. */
export async function processGroupMembers(pgid: number): Promise<number[]> {
  const entries = await readdir('/proc');
  const members: number[] = [];
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        const stat = await procStat(Number(e));
        if (stat && stat.pgrp === pgid && stat.state !== 'Z') members.push(stat.pid);
      }),
  );
  return members;
}
