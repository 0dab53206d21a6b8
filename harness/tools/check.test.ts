import { describe, expect, it } from 'vitest';
import { FakeBinDir } from '../../test/support/fake-bin.ts';
import { checkTool } from './check.ts';
import type { AptTool } from './manifest.ts';

const tool = (binary: string): AptTool => ({
  kind: 'apt',
  name: 'fake',
  aptPackage: 'fake-pkg',
  binary,
  version: '2.42.0',
  versionArgs: ['--version'],
  versionPattern: /fake, version (\S+)/,
});

describe('checkTool', () => {
  it('accepts a binary at the pinned version', async () => {
    await using bin = await FakeBinDir.create();
    const status = await checkTool(
      tool(await bin.script('fake', 'echo "fake, version 2.42.0+ds (branch: x)"')),
    );
    expect(status).toMatchObject({ ok: true, found: '2.42.0+ds', problem: undefined });
  });

  it('rejects a wrong version and says which', async () => {
    await using bin = await FakeBinDir.create();
    const status = await checkTool(tool(await bin.script('fake', 'echo "fake, version 2.41.1" >&2')));
    expect(status.ok).toBe(false);
    expect(status.problem).toBe('wrong version: found 2.41.1, want 2.42.0');
  });

  it('rejects output it cannot read a version from', async () => {
    await using bin = await FakeBinDir.create();
    const status = await checkTool(tool(await bin.script('fake', 'echo "something else entirely"')));
    expect(status.ok).toBe(false);
    expect(status.problem).toContain('unrecognised version output: something else entirely');
  });

  it('reports a missing binary with its path', async () => {
    const status = await checkTool(tool('/nonexistent/chatim-slo/fake'));
    expect(status).toMatchObject({ ok: false, found: undefined });
    expect(status.problem).toBe('not installed (/nonexistent/chatim-slo/fake missing)');
  });
});
