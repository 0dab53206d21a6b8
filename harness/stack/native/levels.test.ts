import { describe, expect, it } from 'vitest';
import type { NativeComponent } from './component.ts';
import { coreComponents } from './core-components.ts';
import { startLevels } from './runtime.ts';

const fake = (name: string, dependsOn: string[] = []): NativeComponent => ({
  name,
  ports: ['main'],
  dependsOn,
  tools: [],
  process: () => ({ command: 'true', args: [] }),
  ready: async () => true,
});

describe('startLevels', () => {
  it('starts each component only after what it depends on', () => {
    const levels = startLevels(coreComponents()).map((l) => l.map((c) => c.name).sort());
    expect(levels).toEqual([
      ['alertmanager', 'postgres', 'redis', 'toxiproxy'],
      ['postgres-exporter', 'prometheus', 'redis-exporter'],
    ]);
  });

  it('rejects unknown dependencies and duplicate names, listing each', () => {
    expect(() => startLevels([fake('a', ['x']), fake('b', ['y']), fake('b')])).toThrow(
      'invalid component list: "a" depends on unknown "x"; "b" depends on unknown "y"; component names are not unique',
    );
  });

  it('rejects a dependency cycle', () => {
    expect(() => startLevels([fake('a', ['b']), fake('b', ['a']), fake('c')])).toThrow(
      'dependency cycle among: a, b',
    );
  });
});
