import { describe, expect, it } from 'vitest';
import { isSameProcessAlive, parseProcStat, procStat } from './procfs.ts';

describe('parseProcStat', () => {
  it('reads state, process group and start time even when the name has spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[0] = 'S'; // field 3
    fields[2] = '4242'; // field 5: pgrp
    fields[19] = '987654'; // field 22: starttime
    const stat = parseProcStat(`1234 (my (odd) name) ${fields.join(' ')}`);
    expect(stat).toEqual({ pid: 1234, state: 'S', pgrp: 4242, startTime: 987654 });
  });

  it('returns undefined for text that is not a stat line', () => {
    expect(parseProcStat('garbage')).toBeUndefined();
  });
});

describe('procStat', () => {
  it('identifies this process, and a different start time is another process', async () => {
    const me = await procStat(process.pid);
    expect(me?.pid).toBe(process.pid);
    expect(await isSameProcessAlive(process.pid, me?.startTime)).toBe(true);
    expect(await isSameProcessAlive(process.pid, (me?.startTime ?? 0) + 1)).toBe(false);
  });
});
