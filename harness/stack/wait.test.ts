import { describe, expect, it } from 'vitest';
import { InterruptedError } from '../errors.ts';
import { WaitTimeoutError, waitUntil } from './wait.ts';

describe('waitUntil', () => {
  it('resolves as soon as the probe holds', async () => {
    let calls = 0;
    await waitUntil(async () => ++calls === 3, { what: 'three calls', timeoutMs: 5000 });
    expect(calls).toBe(3);
  });

  it('times out naming what it waited for and the last probe error', async () => {
    const err = await waitUntil(
      async () => {
        throw new Error('connection refused');
      },
      { what: 'redis to answer PING', timeoutMs: 100 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as Error).message).toBe(
      'timed out after 100 ms waiting for redis to answer PING (last error: connection refused)',
    );
  });

  it('gives up at once when giveUp says why', async () => {
    const err = await waitUntil(async () => false, {
      what: 'postgres',
      timeoutMs: 60_000,
      giveUp: () => 'it exited with code 1',
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('gave up waiting for postgres: it exited with code 1');
  });

  it('stops with InterruptedError when aborted', async () => {
    const controller = new AbortController();
    const waiting = waitUntil(async () => false, {
      what: 'never',
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(InterruptedError);
  });
});
