/**
 * POSTs one message to a robot and decides whether it was accepted. Both DingTalk and WeCom answer
 * HTTP 200 with `{"errcode": 0, "errmsg": "ok"}` on success; anything else (network error, timeout,
 * non-2xx, a body that is not that JSON, a non-zero errcode) is a failure whose reason names the
 * robot by origin and path only: the query string holds its credential and is never shown.
 */

export type UpstreamResult =
  | { readonly ok: true; readonly httpStatus: number }
  | { readonly ok: false; readonly reason: string; readonly httpStatus?: number; readonly errcode?: number };

/** Known errcodes worth a hint (DingTalk custom robot and WeCom group robot documentation). */
const ERRCODE_HINTS: Record<number, string> = {
  310000: 'signature or timestamp rejected: check the robot secret (SEC…) and the relay clock',
  130101: 'rate limited: a robot accepts at most 20 messages a minute; group alerts more coarsely',
  460101: 'message too long',
  300001: 'invalid access_token',
  93000: 'invalid webhook key',
  45009: 'rate limited: a robot accepts at most 20 messages a minute',
  40058: 'content too long or invalid parameter',
};

const MAX_ANSWER_BYTES = 64 * 1024;

export async function postToRobot(
  fetchFn: typeof fetch,
  url: string,
  body: unknown,
  timeoutMs: number,
): Promise<UpstreamResult> {
  const where = redactUrl(url);
  let res: Response;
  let text: string;
  try {
    res = await fetchFn(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await readLimited(res);
  } catch (err) {
    const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return { ok: false, reason: `${where} did not answer within ${timeoutMs} ms` };
    }
    return { ok: false, reason: `${where} unreachable: ${networkReason(err)}` };
  }
  if (res.status < 200 || res.status > 299) {
    return {
      ok: false,
      httpStatus: res.status,
      reason: `${where} answered HTTP ${res.status}: ${snippet(text)}`,
    };
  }
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return {
      ok: false,
      httpStatus: res.status,
      reason: `${where} answered a body that is not JSON: ${snippet(text)}`,
    };
  }
  const errcode =
    typeof answer === 'object' && answer !== null ? (answer as { errcode?: unknown }).errcode : undefined;
  if (typeof errcode !== 'number') {
    return {
      ok: false,
      httpStatus: res.status,
      reason: `${where} answered without an errcode: ${snippet(text)}`,
    };
  }
  if (errcode !== 0) {
    const errmsg = String((answer as { errmsg?: unknown }).errmsg ?? '');
    const hint = ERRCODE_HINTS[errcode];
    return {
      ok: false,
      httpStatus: res.status,
      errcode,
      reason: `${where} refused the message: errcode ${errcode} ${snippet(errmsg)}${hint ? ` (${hint})` : ''}`,
    };
  }
  return { ok: true, httpStatus: res.status };
}

/** `https://oapi.dingtalk.com/robot/send` from the full URL: never log the query (credentials). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

async function readLimited(res: Response): Promise<string> {
  if (res.body === null) return '';
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    text += decoder.decode(chunk, { stream: true });
    if (size > MAX_ANSWER_BYTES) break; // leaving the loop cancels the stream
  }
  return text + decoder.decode();
}

function networkReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // undici reports "fetch failed" with the useful part (ECONNREFUSED 127.0.0.1:1234) in `cause`.
  const cause = err.cause;
  if (cause instanceof Error)
    return `${err.message} (${(cause as NodeJS.ErrnoException).code ?? cause.message})`;
  return err.message;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat || '(empty)';
}
