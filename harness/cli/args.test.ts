import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { parseOptions } from './args.ts';

const spec = {
  profile: { type: 'string', description: 'p', choices: ['fast', 'production'] },
  keep: { type: 'boolean', description: 'k' },
  duration: { type: 'string', description: 'd' },
} as const;

describe('parseOptions', () => {
  it('parses flags and both value forms', () => {
    expect(parseOptions('x', ['--keep', '--profile', 'production', '--duration=5m'], spec)).toEqual({
      keep: true,
      profile: 'production',
      duration: '5m',
    });
  });

  it('lists every problem at once', () => {
    let err: unknown;
    try {
      parseOptions('stack', ['--nope', '--profile', 'slow', 'stray', '--keep=yes', '--duration'], spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const config = err as ConfigError;
    expect(config.exitCode).toBe(ExitCode.InvalidConfig);
    expect(config.problems).toEqual([
      'unknown option --nope',
      '--profile must be one of fast, production (got "slow")',
      'unexpected argument "stray"',
      '--keep takes no value',
      '--duration needs a value',
    ]);
  });
});
