import { describe, expect, it } from 'vitest';
import { compareVersions, parseGoVersion, versionMatches } from './version.ts';

describe('versionMatches', () => {
  it.each([
    ['2.42.0+ds', '2.42.0', true],
    ['7.0.15', '7.0', true],
    ['v2.12.0', 'v2.12.0', true],
    ['2.12.0', 'v2.12.0', true],
    ['1.45.0-2+b4', '1.45.0', true],
    ['15.18', '15', true],
    ['2.41.0', '2.42.0', false],
    ['7.2.4', '7.0', false],
    ['16.1', '15', false],
    ['2.42', '2.42.0', false],
    ['git', 'v2.12.0', false],
    ['', '1', false],
  ])('%s against %s → %s', (found, wanted, expected) => {
    expect(versionMatches(found, wanted)).toBe(expected);
  });
});

describe('compareVersions', () => {
  it('orders numerically, not lexically', () => {
    expect(compareVersions('1.9', '1.23')).toBeLessThan(0);
    expect(compareVersions('1.26.8', '1.23')).toBeGreaterThan(0);
    expect(compareVersions('v1.23.0', '1.23')).toBe(0);
  });
});

describe('parseGoVersion', () => {
  it('reads the version out of `go version`', () => {
    expect(parseGoVersion('go version go1.26.8 linux/amd64')).toBe('1.26.8');
    expect(parseGoVersion('go version go1.19 linux/amd64')).toBe('1.19');
    expect(parseGoVersion('bash: go: command not found')).toBeUndefined();
  });
});
