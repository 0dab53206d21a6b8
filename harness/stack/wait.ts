import { setTimeout as delay } from 'node:timers/promises';
import { InterruptedError } from '../errors.ts';

export interface WaitOptions {
  /** What is being waited for, in words ("redis to answer PING"). */
  what: string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Checked before each probe: a reason to stop waiting at once (e.g. "the process exited"). */
  giveUp?: () => string | undefined;
}

export class WaitTimeoutError extends Error {
  constructor(
    message: string,
    readonly lastProblem: string | undefined,
  ) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Polls `probe` until it resolves truthy, with a short back-off (25 ms doubling to 250 ms) and a
 * deadline. A probe that throws counts as "not yet"; its message is kept for the timeout error.
 * This is the only way the project waits for readiness: never a fixed sleep.
 */
export async function waitUntil(probe: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let interval = 25;
  let lastProblem: string | undefined;
  for (;;) {
    if (options.signal?.aborted) throw new InterruptedError(`waiting for ${options.what}`);
    const reason = options.giveUp?.();
    if (reason !== undefined)
      throw new WaitTimeoutError(`gave up waiting for ${options.what}: ${reason}`, lastProblem);
    try {
      if (await probe()) return;
      lastProblem = undefined;
    } catch (err) {
      lastProblem = err instanceof Error ? err.message : String(err);
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new WaitTimeoutError(
        `timed out after ${options.timeoutMs} ms waiting for ${options.what}${lastProblem ? ` (last error: ${lastProblem})` : ''}`,
        lastProblem,
      );
    }
    try {
      await delay(
        Math.min(interval, left),
        undefined,
        options.signal ? { signal: options.signal } : undefined,
      );
    } catch {
      throw new InterruptedError(`waiting for ${options.what}`);
    }
    interval = Math.min(interval * 2, 250);
  }
}

/** GET `url` and report whether it answered with a 2xx status within `timeoutMs`. */
export async function httpOk(url: string, timeoutMs = 2000): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return true;
}
