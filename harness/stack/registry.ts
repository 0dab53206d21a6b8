import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CHATIM_SLO_STATE_DIR ?? path.join(os.tmpdir(), 'chatim-slo-state');
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
    const stacks = path.join(stateDir(), 'stacks');
    await mkdir(stacks, { recursive: true });
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
  const stacks = path.join(stateDir(), 'stacks');
  let files: string[];
  try {
    files = (await readdir(stacks)).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const cleaned: string[] = [];
  for (const file of files) {
    const full = path.join(stacks, file);
    let record: StackRecord;
    try {
      record = JSON.parse(await readFile(full, 'utf8')) as StackRecord;
    } catch {
      continue; // being written by its owner right now, or not ours
    }
    if (await isSameProcessAlive(record.owner.pid, record.owner.startTime)) continue;
    const killed: string[] = [];
    for (const [name, proc] of Object.entries(record.components)) {
      if (!(await isSameProcessAlive(proc.pid, proc.startTime))) continue;
      try {
        process.kill(-proc.pid, 'SIGKILL');
        killed.push(`${name} (pid ${proc.pid})`);
      } catch {
        // gone in the meantime
      }
    }
    if (!record.keep) await rm(record.dir, { recursive: true, force: true });
    await rm(full, { force: true });
    cleaned.push(
      `cleaned stack ${record.id} left by dead harness pid ${record.owner.pid}: ` +
        `${killed.length > 0 ? `killed ${killed.join(', ')}` : 'no live processes'}` +
        `${record.keep ? `; kept ${record.dir}` : `; removed ${record.dir}`}`,
    );
  }
  return cleaned;
}
