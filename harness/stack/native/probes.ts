import { connect } from 'node:net';

/**
 * Sends one inline Redis command and resolves with its reply: a status, error or integer line as
 * Redis wrote it (`+OK`, `-LOADING …`, `:1`), a bulk string's payload, or `$-1` for nil.
 */
export function redisCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    const settle = (fn: () => void) => {
      socket.destroy();
      fn();
    };
    socket.setTimeout(timeoutMs, () =>
      settle(() => reject(new Error(`no answer to ${command.split(' ')[0]} on 127.0.0.1:${port}`))),
    );
    socket.on('error', (err) => settle(() => reject(err)));
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
      const lines = answer.split('\r\n');
      if (lines.length < 2) return; // the first line is not complete yet
      const first = lines[0] ?? '';
      if (!first.startsWith('$') || first === '$-1') settle(() => resolve(first));
      else if (lines.length >= 3) settle(() => resolve(lines[1] ?? ''));
    });
  });
}

/** PING over RESP: true on +PONG; an error otherwise (Redis answers -LOADING while it replays its AOF). */
export async function redisPing(port: number, timeoutMs = 1000): Promise<boolean> {
  const reply = await redisCommand(port, 'PING', timeoutMs);
  if (reply !== '+PONG') throw new Error(`PING answered ${reply}`);
  return true;
}

/** Fetches JSON with a timeout; a non-2xx answer is an error naming the URL and status. */
export async function getJson<T>(url: string, timeoutMs = 2000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`${url} answered ${res.status}`);
  }
  return (await res.json()) as T;
}
