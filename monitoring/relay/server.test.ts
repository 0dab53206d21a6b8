import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../harness/exit-codes.ts';
import { allocatePorts } from '../../harness/stack/ports.ts';
import { httpOk, waitUntil } from '../../harness/stack/wait.ts';
import { PACKAGE_ROOT } from '../../harness/util/paths.ts';
import type { WeComMarkdownBody } from './format.ts';
import { alert, FakeRobot, payload } from './test-support.ts';

/** The real entry point as a process: config from the environment, listen, drain on SIGTERM. */

const SERVER = path.join(PACKAGE_ROOT, 'monitoring', 'relay', 'server.ts');

interface Started {
  readonly child: ChildProcess;
  readonly output: () => { stdout: string; stderr: string };
  readonly exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function start(env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    cwd: PACKAGE_ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => ({ stdout, stderr }), exited };
}

describe('relay server process', () => {
  it('serves from environment config and exits 0 on SIGTERM', async () => {
    await using robot = await FakeRobot.start({ kind: 'wecom', credential: 'k' });
    const [port] = await allocatePorts(1);
    const base = `http://127.0.0.1:${port}`;
    const server = start({ RELAY_PORT: String(port), RELAY_WECOM_TEAM_URL: robot.url() });
    await waitUntil(() => httpOk(`${base}/-/healthy`), {
      what: 'the relay to answer /-/healthy',
      timeoutMs: 30_000,
      giveUp: () => (server.child.exitCode === null ? undefined : `it exited: ${server.output().stderr}`),
    });
    const res = await fetch(`${base}/wecom/team`, {
      method: 'POST',
      body: JSON.stringify(payload([alert()])),
    });
    expect(res.status).toBe(200);
    expect((robot.accepted().at(-1)!.body as WeComMarkdownBody).markdown.content).toContain('[FIRING:1]');

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(ExitCode.Pass);
    const messages = server
      .output()
      .stdout.trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { message: string }).message);
    expect(messages).toEqual(['relay listening', 'notification forwarded', 'stopping', 'stopped']);
  });

  it('exits 4 and lists every configuration problem on stderr', async () => {
    const server = start({ RELAY_PORT: 'x', RELAY_DINGTALK_OPS_SECRET: 'SECabc' });
    expect(await server.exited).toBe(ExitCode.InvalidConfig);
    const { stderr } = server.output();
    expect(stderr).toContain('error: invalid relay configuration:');
    expect(stderr).toContain('  - RELAY_PORT="x" must be an integer from 0 to 65535');
    expect(stderr).toContain('  - RELAY_DINGTALK_OPS_URL (or RELAY_DINGTALK_OPS_URL_FILE) is required');
    expect(stderr).toContain('hint: see docs/relay.md');
    expect(stderr).not.toContain('SECabc');
  });
});
