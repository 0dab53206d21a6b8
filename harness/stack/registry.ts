import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HarnessError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { isSameProcessAlive, procStat } from './procfs.ts';

/**
 * Pid files for running stacks: one JSON record per stack under the state directory, naming the
 * harness process that owns it and every component process (pid + /proc start time). A harness that
 * is SIGKILLed cannot clean up; the next stack start finds its record, sees the owner is gone, and
 * kills the orphans and removes their data.
 */

export interface ProcessRecord {
  readonly pid: number;
  readonly startTime: number | undefined;
}

export interface StackRecord {
  readonly id: string;
  readonly owner: ProcessRecord;
  readonly dir: string;
  readonly keep: boolean;
  components: Record<string, ProcessRecord>;
}

/** Per user, so one user's records can never steer another user's (or root's) reaper. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.CHATIM_SLO_STATE_DIR ?? path.join(os.tmpdir(), `chatim-slo-state-${process.getuid?.() ?? 'user'}`)
  );
}

/**
 * The state directory, created 0700 if missing, and refused unless it is a real directory owned by
 * us and closed to others: the reaper acts on what it finds there (SIGKILL, rm -rf).
 */
async function secureStateDir(): Promise<string> {
  const dir = stateDir();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  const uid = process.getuid?.();
  const problems = [
    !st.isDirectory() && 'is not a directory (a symlink?)',
    uid !== undefined && st.uid !== uid && `belongs to uid ${st.uid}, not to us (uid ${uid})`,
    (st.mode & 0o022) !== 0 && `is writable by others (mode ${(st.mode & 0o777).toString(8)})`,
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length > 0) {
    throw new HarnessError(`the stack state directory ${dir} ${problems.join('; ')}`, {
      exitCode: ExitCode.Environment,
      hint: 'remove it, or point CHATIM_SLO_STATE_DIR at a directory only you can write',
    });
  }
  const stacks = path.join(dir, 'stacks');
  await mkdir(stacks, { recursive: true, mode: 0o700 });
  return stacks;
}

/** Only a stack directory this harness creates may be removed by the reaper. */
export function isStackDataDir(dir: unknown): dir is string {
  return (
    typeof dir === 'string' &&
    path.isAbsolute(dir) &&
    path.dirname(path.resolve(dir)) === path.resolve(os.tmpdir()) &&
    path.basename(dir).startsWith('chatim-slo-stack-')
  );
}

/** A process we may signal: a real pid (> 1) whose /proc start time we recorded. */
function isReapable(proc: unknown): proc is ProcessRecord & { startTime: number } {
  const p = proc as Partial<ProcessRecord> | undefined;
  return (
    typeof p?.pid === 'number' && Number.isInteger(p.pid) && p.pid > 1 && typeof p.startTime === 'number'
  );
}

export class StackRegistry {
  readonly #file: string;
  readonly record: StackRecord;
  /** Saves are chained: components start in parallel and must not interleave their writes. */
  #writes: Promise<void> = Promise.resolve();

  private constructor(file: string, record: StackRecord) {
    this.#file = file;
    this.record = record;
  }

  static async create(id: string, dir: string, keep: boolean): Promise<StackRegistry> {
    const stacks = await secureStateDir();
    const owner = { pid: process.pid, startTime: (await procStat(process.pid))?.startTime };
    const registry = new StackRegistry(path.join(stacks, `${id}.json`), {
      id,
      owner,
      dir,
      keep,
      components: {},
    });
    await registry.save();
    return registry;
  }

  async setComponent(name: string, proc: ProcessRecord | undefined): Promise<void> {
    if (proc) this.record.components[name] = proc;
    else delete this.record.components[name];
    await this.save();
  }

  save(): Promise<void> {
    const write = async () => {
      const tmp = `${this.#file}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(this.record, null, 2)}\n`);
      await rename(tmp, this.#file);
    };
    this.#writes = this.#writes.then(write, write);
    return this.#writes;
  }

  async remove(): Promise<void> {
    await this.#writes.catch(() => {});
    await rm(this.#file, { force: true });
  }
}

/**
 * Cleans stacks whose owning harness is gone: SIGKILLs their component process groups (only when
 * pid and start time still match, so a reused pid is never hit) and removes their data directory.
 * Returns one line per stack cleaned.
 */
export async function reapStaleStacks(): Promise<string[]> {
  const stacks = await secureStateDir();
  const files = (await readdir(stacks)).filter((f) => f.endsWith('.json'));
  const cleaned: string[] = [];
  for (const file of files) {
    const full = path.join(stacks, file);
    let record: StackRecord;
    try {
      record = JSON.parse(await readFile(full, 'utf8')) as StackRecord;
    } catch {
      continue; // being written by its owner right now, or not ours
    }
    // A record we cannot trust (no start times, pid 0/1, a foreign directory) is never acted on.
    if (!isReapable(record.owner) || typeof record.components !== 'object' || record.components === null) {
      cleaned.push(`ignored ${file}: not a valid stack record (left in place)`);
      continue;
    }
    if (await isSameProcessAlive(record.owner.pid, record.owner.startTime)) continue;
    const killed: string[] = [];
    for (const [name, proc] of Object.entries(record.components)) {
      if (!isReapable(proc) || !(await isSameProcessAlive(proc.pid, proc.startTime))) continue;
      try {
        process.kill(-proc.pid, 'SIGKILL');
        killed.push(`${name} (pid ${proc.pid})`);
      } catch {
        // gone in the meantime
      }
    }
    const removable = !record.keep && isStackDataDir(record.dir);
    if (removable) await rm(record.dir, { recursive: true, force: true });
    await rm(full, { force: true });
    cleaned.push(
      `cleaned stack ${record.id} left by dead harness pid ${record.owner.pid}: ` +
        `${killed.length > 0 ? `killed ${killed.join(', ')}` : 'no live processes'}` +
        `${removable ? `; removed ${record.dir}` : `; left ${String(record.dir)} in place`}`,
    );
  }
  return cleaned;
}
