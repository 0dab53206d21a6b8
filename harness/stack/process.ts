import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { processGroupMembers, procStat } from './procfs.ts';
import type { ExitInfo } from './types.ts';

export interface ProcessSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Run as this user/group (used to run PostgreSQL unprivileged when the harness is root). */
  readonly uid?: number;
  readonly gid?: number;
  /** Signal for a graceful stop (default SIGTERM), sent to the main process. */
  readonly stopSignal?: NodeJS.Signals;
  /** How long a graceful stop may take before the whole group is SIGKILLed (default 10 s). */
  readonly stopTimeoutMs?: number;
}

/**
 * One child process in its own process group (spawned detached), with stdout and stderr appended
 * to a log file. The group is what gets signalled, so helpers a component forks (PostgreSQL
 * backends) are stopped, frozen and killed with it.
 */
export class SupervisedProcess {
  readonly pid: number;
  /** /proc start time of the main process, recorded so a reused pid is never mistaken for ours. */
  readonly startTime: number | undefined;
  readonly exited: Promise<ExitInfo>;
  #exit: ExitInfo | undefined;

  private constructor(pid: number, startTime: number | undefined, exited: Promise<ExitInfo>) {
    this.pid = pid;
    this.startTime = startTime;
    this.exited = exited.then((info) => {
      this.#exit = info;
      return info;
    });
  }

  static async spawn(spec: ProcessSpec, logFile: string): Promise<SupervisedProcess> {
    const fd = openSync(logFile, 'a');
    try {
      writeSync(fd, `\n=== ${new Date().toISOString()} start: ${spec.command} ${spec.args.join(' ')}\n`);
      const child = spawn(spec.command, [...spec.args], {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...spec.env },
        cwd: spec.cwd,
        ...(spec.uid === undefined ? {} : { uid: spec.uid }),
        ...(spec.gid === undefined ? {} : { gid: spec.gid }),
      });
      const exited = new Promise<ExitInfo>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      const pid = child.pid;
      if (pid === undefined) throw new Error(`${spec.command} did not start`);
      const stat = await procStat(pid);
      return new SupervisedProcess(pid, stat?.startTime, exited);
    } finally {
      closeSync(fd);
    }
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  get exitInfo(): ExitInfo | undefined {
    return this.#exit;
  }

  /** Sends `signal` to every process of the group; false when the group is already gone. */
  signalGroup(signal: NodeJS.Signals): boolean {
    try {
      process.kill(-this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Graceful stop with a deadline, then SIGKILL for whatever is left of the group. */
  async stop(spec: ProcessSpec): Promise<void> {
    if (this.running) {
      try {
        process.kill(this.pid, spec.stopSignal ?? 'SIGTERM');
      } catch {
        // already gone
      }
      this.signalGroup('SIGCONT'); // a frozen process cannot act on the stop signal
      const timeout = setTimeout(() => this.signalGroup('SIGKILL'), spec.stopTimeoutMs ?? 10_000);
      await this.exited;
      clearTimeout(timeout);
    }
    await this.killRemainingGroup();
  }

  /** SIGKILL (or `signal`) to the group, then wait until no member of it is left. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.signalGroup(signal);
    if (signal === 'SIGKILL') {
      await this.exited;
      await this.killRemainingGroup();
    }
  }

  async killRemainingGroup(): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const members = await processGroupMembers(this.pid);
      if (members.length === 0) return;
      this.signalGroup('SIGKILL');
      if (Date.now() > deadline) {
        throw new Error(`process group ${this.pid} still has members after SIGKILL: ${members.join(', ')}`);
      }
      await delay(20);
    }
  }
}
