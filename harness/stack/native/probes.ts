import { connect } from 'node:net';

/** Sends PING over RESP and resolves true on +PONG (Redis answers -LOADING while it replays its AOF). */
export function redisPing(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no answer to PING on 127.0.0.1:${port}`)));
    socket.on('error', fail);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
      if (!answer.includes('\r\n')) return;
      socket.destroy();
      if (answer.startsWith('+PONG')) resolve(true);
      else reject(new Error(`PING answered ${answer.trim()}`));
    });
  });
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
