import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertmanagerWebhookAlert, AlertmanagerWebhookPayload } from '../../harness/stack/alert-sink.ts';

/**
 * Test helpers for the relay: Alertmanager-shaped payloads, and fake DingTalk / WeCom robots that
 * are real HTTP servers on 127.0.0.1 checking what the real services check (credential, signature
 * and its timestamp window, message shape and size) and answering with the real errcodes.
 * The signature check is written here independently of sign.ts, straight from the DingTalk docs.
 */

export function alert(overrides: Partial<AlertmanagerWebhookAlert> = {}): AlertmanagerWebhookAlert {
  return {
    status: 'firing',
    labels: {
      alertname: 'HighHTTPErrorRate',
      severity: 'critical',
      service: 'message-service',
      job: 'chatim-message',
      instance: '127.0.0.1:3001',
    },
    annotations: {
      summary: 'HTTP 5xx ratio above 5% on message-service',
      description: '7.31% of requests failed over the last 5m (threshold 5%).',
      runbook_url: 'https://example.invalid/docs/runbooks/HighHTTPErrorRate.md',
    },
    startsAt: '2025-03-01T12:00:00.000Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://127.0.0.1:9090/graph?g0.expr=http_error_ratio',
    fingerprint: 'a1b2c3d4e5f60718',
    ...overrides,
  };
}

export function resolvedAlert(overrides: Partial<AlertmanagerWebhookAlert> = {}): AlertmanagerWebhookAlert {
  return alert({ status: 'resolved', endsAt: '2025-03-01T12:07:30.000Z', ...overrides });
}

export function payload(
  alerts: AlertmanagerWebhookAlert[],
  overrides: Partial<AlertmanagerWebhookPayload> = {},
): AlertmanagerWebhookPayload {
  const firing = alerts.some((a) => a.status === 'firing');
  const common = alerts[0]?.labels ?? {};
  const commonLabels = Object.fromEntries(
    Object.entries(common).filter(([k, v]) => alerts.every((a) => a.labels[k] === v)),
  );
  return {
    version: '4',
    groupKey: '{}:{alertname="HighHTTPErrorRate"}',
    truncatedAlerts: 0,
    status: firing ? 'firing' : 'resolved',
    receiver: 'dingtalk-ops',
    groupLabels: common.alertname === undefined ? {} : { alertname: common.alertname },
    commonLabels,
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:9093',
    alerts,
    ...overrides,
  };
}

export interface RobotRequest {
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly bodyBytes: number;
  /** errcode the fake answered (0 = accepted). */
  readonly errcode: number;
  /** For DingTalk with a secret: whether `sign` matched the fake's own computation. */
  readonly signatureValid: boolean | undefined;
}

export type RobotMode = 'ok' | 'http-500' | 'hang';

export interface FakeRobotOptions {
  readonly kind: 'dingtalk' | 'wecom';
  /** access_token (DingTalk) or key (WeCom) the fake accepts. */
  readonly credential: string;
  /** DingTalk "加签" secret; when set, unsigned or wrongly signed requests get errcode 310000. */
  readonly secret?: string;
  readonly mode?: RobotMode;
}

export class FakeRobot implements AsyncDisposable {
  readonly requests: RobotRequest[] = [];
  readonly #server: Server;
  readonly #options: FakeRobotOptions;
  #port = 0;

  private constructor(options: FakeRobotOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => res.writeHead(500).end(String(err)));
    });
  }

  static async start(options: FakeRobotOptions): Promise<FakeRobot> {
    const robot = new FakeRobot(options);
    await new Promise<void>((resolve, reject) => {
      robot.#server.once('error', reject);
      robot.#server.listen(0, '127.0.0.1', () => resolve());
    });
    robot.#port = (robot.#server.address() as AddressInfo).port;
    return robot;
  }

  /** The webhook URL a user would paste, with this fake's credential (or another one). */
  url(credential = this.#options.credential): string {
    return this.#options.kind === 'dingtalk'
      ? `http://127.0.0.1:${this.#port}/robot/send?access_token=${encodeURIComponent(credential)}`
      : `http://127.0.0.1:${this.#port}/cgi-bin/webhook/send?key=${encodeURIComponent(credential)}`;
  }

  /** Requests the robot accepted (errcode 0). */
  accepted(): RobotRequest[] {
    return this.requests.filter((r) => r.errcode === 0);
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const mode = this.#options.mode ?? 'ok';
    if (mode === 'hang') return; // never answers; close() drops the connection
    if (mode === 'http-500') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream exploded');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    const verdict =
      this.#options.kind === 'dingtalk'
        ? this.#checkDingTalk(req, url, body, raw.length)
        : this.#checkWeCom(req, url, body);
    this.requests.push({
      query: url.searchParams,
      body,
      bodyBytes: raw.length,
      errcode: verdict.errcode,
      signatureValid: verdict.signatureValid,
    });
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ errcode: verdict.errcode, errmsg: verdict.errmsg }));
  }

  #checkDingTalk(
    req: IncomingMessage,
    url: URL,
    body: unknown,
    bytes: number,
  ): { errcode: number; errmsg: string; signatureValid?: boolean } {
    if (req.method !== 'POST' || url.pathname !== '/robot/send') return { errcode: 404, errmsg: 'not found' };
    if (url.searchParams.get('access_token') !== this.#options.credential) {
      return { errcode: 300001, errmsg: 'token is not exist' };
    }
    let signatureValid: boolean | undefined;
    const secret = this.#options.secret;
    if (secret !== undefined) {
      const timestamp = url.searchParams.get('timestamp') ?? '';
      const sign = url.searchParams.get('sign') ?? '';
      const expected = createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest();
      const given = Buffer.from(sign, 'base64');
      signatureValid =
        /^\d{13}$/.test(timestamp) &&
        Math.abs(Date.now() - Number(timestamp)) < 3_600_000 &&
        given.length === expected.length &&
        timingSafeEqual(given, expected) &&
        sign === expected.toString('base64');
      if (!signatureValid) return { errcode: 310000, errmsg: 'sign not match', signatureValid };
    }
    if (!req.headers['content-type']?.startsWith('application/json')) {
      return { errcode: 43004, errmsg: 'content-type must be application/json', ...withSig(signatureValid) };
    }
    if (bytes > 20_000) return { errcode: 460101, errmsg: 'message too long, exceed 20000 bytes' };
    const markdown = (
      body as { msgtype?: unknown; markdown?: { title?: unknown; text?: unknown } } | undefined
    )?.markdown;
    if (
      (body as { msgtype?: unknown } | undefined)?.msgtype !== 'markdown' ||
      typeof markdown?.title !== 'string' ||
      typeof markdown.text !== 'string' ||
      markdown.title === '' ||
      markdown.text === ''
    ) {
      return { errcode: 40035, errmsg: 'invalid markdown message', ...withSig(signatureValid) };
    }
    return { errcode: 0, errmsg: 'ok', ...withSig(signatureValid) };
  }

  #checkWeCom(
    req: IncomingMessage,
    url: URL,
    body: unknown,
  ): { errcode: number; errmsg: string; signatureValid?: boolean } {
    if (req.method !== 'POST' || url.pathname !== '/cgi-bin/webhook/send')
      return { errcode: 404, errmsg: 'not found' };
    if (url.searchParams.get('key') !== this.#options.credential)
      return { errcode: 93000, errmsg: 'invalid webhook url' };
    const typed = body as { msgtype?: unknown; markdown?: { content?: unknown } } | undefined;
    const content = typed?.markdown?.content;
    if (typed?.msgtype !== 'markdown' || typeof content !== 'string' || content === '') {
      return { errcode: 40008, errmsg: 'invalid message type' };
    }
    if (Buffer.byteLength(content, 'utf8') > 4096) {
      return { errcode: 40058, errmsg: 'markdown.content exceed max length 4096' };
    }
    return { errcode: 0, errmsg: 'ok' };
  }
}

function withSig(signatureValid: boolean | undefined): { signatureValid?: boolean } {
  return signatureValid === undefined ? {} : { signatureValid };
}

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A logger that keeps every line, so tests can assert on what the relay logs (and never logs). */
export function memoryLogger() {
  const lines: string[] = [];
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push(JSON.stringify({ level, message, ...fields }));
  return { lines, logger: { info: log('info'), warn: log('warn'), error: log('error') } };
}
