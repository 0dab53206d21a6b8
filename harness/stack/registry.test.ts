import { spawn } from 'node:child_process';
import { access, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HarnessError } from '../errors.ts';
import { procStat } from './procfs.ts';
import { isStackDataDir, reapStaleStacks } from './registry.ts';

// The reaper SIGKILLs and rm -rf's what its records say: forged or damaged records must do nothing.
let state: string;
beforeAll(async () => {
  state = await mkdtemp(path.join(os.tmpdir(), 'chatim-slo-registry-test-'));
  process.env.CHATIM_SLO_STATE_DIR = state;
});
afterAll(async () => {
  await rm(state, { recursive: true, force: true });
});

const record = async (name: string, body: unknown) => {
  await mkdir(path.join(state, 'stacks'), { recursive: true });
  await writeFile(path.join(state, 'stacks', `${name}.json`), JSON.stringify(body));
};

describe('reapStaleStacks', () => {
  it('never acts on a record without start times (it could hit pid 1 or a reused pid)', async () => {
    const victim = await mkdtemp(path.join(os.tmpdir(), 'chatim-slo-stack-victim-'));
    await record('forged', {
      id: 'forged',
      owner: { pid: 999_999 },
      dir: victim,
      keep: false,
      components: { x: { pid: 1 } },
    });
    const lines = await reapStaleStacks();
    expect(lines).toContain('ignored forged.json: not a valid stack record (left in place)');
    await access(victim); // not removed
    await rm(victim, { recursive: true });
    await rm(path.join(state, 'stacks', 'forged.json'));
  });

  it('kills only processes whose pid and start time both match, and removes only its own stack directories', async () => {
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    await new Promise((resolve) => child.once('spawn', resolve));
    const stat = await procStat(child.pid!);
    const outside = await mkdtemp(path.join(state, 'not-a-stack-'));
    await record('dead-owner', {
      id: 'dead-owner',
      owner: { pid: 999_999, startTime: 1 }, // not alive
      dir: outside, // not directly in the temp dir: must stay
      keep: false,
      components: { reused: { pid: child.pid, startTime: (stat?.startTime ?? 0) + 1 } }, // a reused pid
    });
    const lines = await reapStaleStacks();
    expect(lines.join('\n')).toContain(
      `cleaned stack dead-owner left by dead harness pid 999999: no live processes; left ${outside} in place`,
    );
    expect((await procStat(child.pid!))?.state).not.toBe('Z');
    await access(outside);
    child.kill('SIGKILL');
  });

  it('refuses a state directory others can write', async () => {
    const open = await mkdtemp(path.join(os.tmpdir(), 'chatim-slo-open-state-'));
    await chmod(open, 0o777);
    process.env.CHATIM_SLO_STATE_DIR = open;
    try {
      const err = await reapStaleStacks().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HarnessError);
      expect((err as Error).message).toContain('is writable by others (mode 777)');
    } finally {
      process.env.CHATIM_SLO_STATE_DIR = state;
      await rm(open, { recursive: true });
    }
  });
});

describe('isStackDataDir', () => {
  it('accepts only chatim-slo-stack-* directly in the temp dir', () => {
    expect(isStackDataDir(path.join(os.tmpdir(), 'chatim-slo-stack-20261126-abc'))).toBe(true);
    expect(isStackDataDir('/etc')).toBe(false);
    expect(isStackDataDir(path.join(os.tmpdir(), 'x', 'chatim-slo-stack-1'))).toBe(false);
    expect(isStackDataDir(path.join(os.tmpdir(), 'chatim-slo-stack-1', '..', '..', 'etc'))).toBe(false);
    expect(isStackDataDir('chatim-slo-stack-relative')).toBe(false);
    expect(isStackDataDir(undefined)).toBe(false);
  });
});
