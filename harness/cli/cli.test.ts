import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesMentioning } from '../../test/support/stack.ts';
import { ExitCode } from '../exit-codes.ts';
import { NativeStackRuntime } from '../stack/native/runtime.ts';
import { isSameProcessAlive } from '../stack/procfs.ts';
import { reapStaleStacks, type StackRecord } from '../stack/registry.ts';
import { waitUntil } from '../stack/wait.ts';
import { PACKAGE_ROOT } from '../util/paths.ts';
import { main } from './main.ts';

// The CLI as users run it: a child process we signal, with its own state directory so the pid
// files it writes are ours to inspect.
let stateDir: string;
beforeAll(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'chatim-slo-cli-state-'));
  process.env.CHATIM_SLO_STATE_DIR = stateDir; // for the in-process runtime used below
});
afterAll(async () => {
  // Whatever a failed test left behind (a SIGKILLed CLI's stack) is reaped before its records go.
  await reapStaleStacks();
  await rm(stateDir, { recursive: true, force: true });
});

interface Cli {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function runCli(args: string[]): Cli {
  const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin/chatim-slo.js'), ...args], {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, CHATIM_SLO_STATE_DIR: stateDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c) => {
    output += String(c);
  });
  child.stderr?.on('data', (c) => {
    output += String(c);
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

async function waitForOutput(cli: Cli, pattern: RegExp): Promise<void> {
  await waitUntil(async () => pattern.test(cli.output()), {
    what: `CLI output ${pattern}`,
    timeoutMs: 60_000,
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n--- output so far ---\n${cli.output()}`);
  });
}

async function records(): Promise<StackRecord[]> {
  const dir = path.join(stateDir, 'stacks');
  const files = await readdir(dir).catch(() => [] as string[]);
  const out: StackRecord[] = [];
  for (const f of files.filter((x) => x.endsWith('.json'))) {
    out.push(JSON.parse(await readFile(path.join(dir, f), 'utf8')) as StackRecord);
  }
  return out;
}

async function expectCleanedUp(record: StackRecord): Promise<void> {
  for (const proc of Object.values(record.components)) {
    expect(await isSameProcessAlive(proc.pid, proc.startTime), `pid ${proc.pid}`).toBe(false);
  }
  expect(await processesMentioning(record.dir)).toEqual([]);
  await expect(readdir(record.dir)).rejects.toThrow();
  expect((await records()).map((r) => r.id)).not.toContain(record.id);
}

describe('chatim-slo CLI', () => {
  it('prints usage and exits with the invalid-configuration code for bad input, listing every problem', async () => {
    const out: string[] = [];
    const io = {
      argv: ['stack', '--profile', 'slow', '--bogus'],
      env: {},
      stdout: { write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream,
      stderr: { write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream,
      signal: new AbortController().signal,
    };
    expect(await main(io)).toBe(ExitCode.InvalidConfig);
    expect(out.join('')).toContain('--profile must be one of fast, production (got "slow")');
    expect(out.join('')).toContain('unknown option --bogus');
    expect(await main({ ...io, argv: ['nonsense'] })).toBe(ExitCode.InvalidConfig);
  });

  it('`stack` prints the URL table, and Ctrl-C tears everything down', async () => {
    const cli = runCli(['stack']);
    await waitForOutput(cli, /Press Ctrl-C/);
    expect(cli.output()).toMatch(/prometheus\s+http:\/\/127\.0\.0\.1:\d+\//);
    expect(cli.output()).toMatch(/alertmanager\s+http:\/\/127\.0\.0\.1:\d+\//);
    expect(cli.output()).toMatch(/redis-exporter\s+http:\/\/127\.0\.0\.1:\d+\/metrics/);
    const [record] = await records();
    expect(record).toBeDefined();
    cli.child.kill('SIGINT');
    expect(await cli.exit).toBe(ExitCode.Interrupted);
    expect(cli.output()).toContain('stopped; no process left behind.');
    await expectCleanedUp(record!);
  });

  it('SIGINT during start-up stops the start and cleans up', async () => {
    const cli = runCli(['stack']);
    await waitForOutput(cli, /✓ \S+ ready/); // the first component is up; others are still starting
    const [record] = await records();
    cli.child.kill('SIGINT');
    expect(await cli.exit).toBe(ExitCode.Interrupted);
    expect(cli.output()).not.toContain('Press Ctrl-C');
    expect(cli.output()).toContain('error: interrupted while');
    await expectCleanedUp(record!);
  });

  it('a stack left behind by a SIGKILLed harness is cleaned by the next start', async () => {
    const cli = runCli(['stack']);
    await waitForOutput(cli, /Press Ctrl-C/);
    const [record] = await records();
    cli.child.kill('SIGKILL');
    await cli.exit;
    const orphans = Object.values(record!.components);
    expect(orphans.length).toBe(10); // the core stack and the three ChatIM services
    for (const p of orphans) expect(await isSameProcessAlive(p.pid, p.startTime)).toBe(true);

    const lines: string[] = [];
    const next = await new NativeStackRuntime().start({ log: (l) => lines.push(l) });
    try {
      expect(lines.join('\n')).toContain(
        `cleaned stack ${record!.id} left by dead harness pid ${cli.child.pid}`,
      );
      await expectCleanedUp(record!);
    } finally {
      await next.stop();
    }
  });
});
