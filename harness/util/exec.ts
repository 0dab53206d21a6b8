import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with every line of stdout and stderr as it arrives (for progress output). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
  /** Kill the command (SIGKILL) after this many ms. */
  timeoutMs?: number;
  /** Run as this user/group. */
  uid?: number;
  gid?: number;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and collects its output. Never throws for a non-zero exit; callers decide. */
export function exec(
  command: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    });
    let stdout = '';
    let stderr = '';
    const lines = (stream: 'stdout' | 'stderr') => {
      const source = stream === 'stdout' ? child.stdout : child.stderr;
      source.setEncoding('utf8');
      source.on('data', (chunk: string) => {
        if (stream === 'stdout') stdout += chunk;
        else stderr += chunk;
      });
      if (options.onLine) {
        const onLine = options.onLine;
        createInterface({ input: source }).on('line', (line) => onLine(line, stream));
      }
    };
    lines('stdout');
    lines('stderr');
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** True when `command` can be executed (found on PATH or at the given path). */
export async function commandExists(command: string): Promise<boolean> {
  try {
    const r = await exec('sh', ['-c', 'command -v "$1"', 'sh', command]);
    return r.code === 0;
  } catch {
    return false;
  }
}
