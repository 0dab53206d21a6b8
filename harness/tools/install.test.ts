import { afterEach, describe, expect, it } from 'vitest';
import { FakeBinDir } from '../../test/support/fake-bin.ts';
import { HarnessError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { installTools } from './install.ts';
import type { AptTool, GoTool } from './manifest.ts';

const missingApt: AptTool = {
  kind: 'apt',
  name: 'fake-apt',
  aptPackage: 'fake-package',
  binary: '/nonexistent/chatim-slo/fake-apt',
  version: '1.0',
  versionArgs: ['--version'],
  versionPattern: /(\S+)/,
};

const missingGo: GoTool = {
  kind: 'go',
  name: 'fake-go-tool',
  module: 'example.invalid/fake',
  pkg: 'cmd/fake',
  goBinaryName: 'fake',
  binary: '/nonexistent/chatim-slo/fake-go-tool',
  version: 'v1.0.0',
  minGo: '1.23',
  versionArgs: ['--version'],
  versionPattern: /(\S+)/,
};

const originalPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = originalPath;
});

async function failure(promise: Promise<unknown>): Promise<HarnessError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HarnessError);
  return err as HarnessError;
}

describe('installTools', () => {
  it('returns at once when every tool is present', async () => {
    await using bin = await FakeBinDir.create();
    const present = { ...missingApt, binary: await bin.script('present', 'echo 1.0.3') };
    const result = await installTools({ log: () => {}, tools: [present] });
    expect(result.installed).toEqual([]);
    expect(result.statuses.map((s) => s.ok)).toEqual([true]);
  });

  it('without root, prints the exact apt-get command instead of installing', async () => {
    const lines: string[] = [];
    const err = await failure(installTools({ log: (l) => lines.push(l), tools: [missingApt], uid: 1000 }));
    expect(err.exitCode).toBe(ExitCode.Environment);
    expect(err.message).toContain('fake-package');
    expect(err.hint).toContain('apt-get install -y --no-install-recommends fake-package');
    expect(lines.join('\n')).toContain('fake-apt: not installed');
  });

  it('says what to install when Go is missing', async () => {
    await using bin = await FakeBinDir.create();
    process.env.PATH = bin.dir; // no `go` here
    const err = await failure(installTools({ log: () => {}, tools: [missingGo] }));
    expect(err.exitCode).toBe(ExitCode.Environment);
    expect(err.message).toContain('`go` is not on PATH');
    expect(err.hint).toContain('install Go 1.23 or newer');
  });

  it('refuses a Go older than the module needs', async () => {
    await using bin = await FakeBinDir.create();
    await bin.script('go', 'echo "go version go1.19.8 linux/amd64"');
    process.env.PATH = bin.dir;
    const err = await failure(installTools({ log: () => {}, tools: [missingGo] }));
    expect(err.message).toBe('Go 1.19.8 is too old to build fake-go-tool');
    expect(err.hint).toContain('install Go 1.23 or newer');
  });
});
