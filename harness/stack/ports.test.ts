import { describe, expect, it } from 'vitest';
import { allocatePorts, candidateRange, ephemeralRange, portIsFree } from './ports.ts';

describe('ports', () => {
  it('reads the kernel ephemeral range, with a sane fallback', () => {
    expect(ephemeralRange('32768\t60999\n')).toEqual([32768, 60999]);
    expect(ephemeralRange('garbage')).toEqual([32768, 60999]);
  });

  it('picks listening ports outside the ephemeral range', () => {
    expect(candidateRange([32768, 60999])).toEqual([10000, 32767]);
    expect(candidateRange([10500, 60999])).toEqual([61000, 65535]);
    expect(candidateRange([1024, 65535])).toBeUndefined();
  });

  it('hands out distinct free ports outside the ephemeral range, never the same one twice', async () => {
    const [lo, hi] = ephemeralRange();
    const a = await allocatePorts(40);
    const b = await allocatePorts(40);
    const all = [...a, ...b];
    expect(new Set(all).size).toBe(80);
    for (const p of all) {
      expect(p < lo || p > hi, `port ${p} is in the ephemeral range ${lo}-${hi}`).toBe(true);
      expect(await portIsFree(p)).toBe(true);
    }
  });
});
