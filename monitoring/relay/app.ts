import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Channel, RelayConfig, RelayTarget } from './config.ts';
import { dingTalkBody, weComBody } from './format.ts';
import { RelayMetrics } from './metrics.ts';
import { checkAlertmanagerPayload } from './payload.ts';
import { signDingTalkUrl } from './sign.ts';
import { postToRobot } from './upstream.ts';

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface RelayLogger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface Clock {
  /** ms since the epoch; the DingTalk signature's timestamp. */
  now(): number;
}

export interface RelayDeps {
  readonly config: RelayConfig;
  readonly fetch: typeof fetch;
  readonly clock: Clock;
  readonly logger: RelayLogger;
}

export interface Relay extends AsyncDisposable {
  readonly server: Server;
  readonly metrics: RelayMetrics;
  /** Listens on config.host:config.port; resolves to the base URL (`http://127.0.0.1:8060`). */
  listen(): Promise<string>;
  /** Stops accepting, lets in-flight notifications finish for up to `graceMs`, then drops connections. */
  close(graceMs?: number): Promise<void>;
}

const ROUTE = /^\/(dingtalk|wecom)\/([^/]+)\/?$/;

/**
 * The relay as a node:http server: `POST /dingtalk/<name>` and `POST /wecom/<name>` take an
 * Alertmanager webhook notification and forward it to that robot. The status codes are chosen for
 * Alertmanager, which retries 5xx answers and drops 4xx ones: an invalid request is 400/404/413
 * (retrying cannot help), a robot that did not take the message is 502 (retrying may).
 */
export function buildRelay(deps: RelayDeps): Relay {
  const { config, logger } = deps;
  const targets: RelayTarget[] = [...config.dingtalk.values(), ...config.wecom.values()];
  const metrics = new RelayMetrics(targets);

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error('request handler failed', { error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) reply(res, 500, 'internal error in the relay');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://relay.invalid').pathname;
    if (req.method === 'GET' && path === '/-/healthy') return reply(res, 200, 'ok');
    if (req.method === 'GET' && path === '/metrics') {
      res
        .writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
        .end(metrics.exposition());
      return;
    }
    const match = ROUTE.exec(path);
    if (match === null) {
      return reply(res, 404, `no route ${path}: POST to /dingtalk/<name> or /wecom/<name>`);
    }
    const channel = match[1] as Channel;
    const name = safeDecode(match[2] ?? '');
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return reply(res, 405, `${req.method} not allowed: POST an Alertmanager webhook notification`);
    }
    const target = channel === 'dingtalk' ? config.dingtalk.get(name) : config.wecom.get(name);
    if (target === undefined) {
      const known = [...(channel === 'dingtalk' ? config.dingtalk : config.wecom).keys()];
      return reply(
        res,
        404,
        `no ${label(channel)} robot named "${name}" (configured: ${known.length > 0 ? known.join(', ') : 'none'})`,
      );
    }

    const body = await readBody(req, config.maxBodyBytes);
    if (body === 'too-large') {
      metrics.count(channel, target.name, 'rejected');
      logger.warn('request body too large', { channel, target: target.name, limit: config.maxBodyBytes });
      res.setHeader('connection', 'close');
      return reply(res, 413, `request body larger than ${config.maxBodyBytes} bytes (RELAY_MAX_BODY_BYTES)`);
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (err) {
      metrics.count(channel, target.name, 'rejected');
      logger.warn('request body is not JSON', { channel, target: target.name });
      return reply(res, 400, `request body is not valid JSON: ${(err as Error).message}`);
    }
    const checked = checkAlertmanagerPayload(json);
    if (!checked.ok) {
      metrics.count(channel, target.name, 'rejected');
      logger.warn('not an Alertmanager webhook payload', { channel, target: target.name });
      return reply(
        res,
        400,
        `not an Alertmanager webhook payload:\n${checked.problems.map((p) => `  - ${p}`).join('\n')}\n`,
      );
    }
    const payload = checked.payload;

    let url: string;
    let message: unknown;
    if (target.channel === 'dingtalk') {
      message = dingTalkBody(payload, {
        timeZone: config.timeZone,
        mentions: { atMobiles: target.atMobiles, atAll: target.atAll },
      });
      url =
        target.secret === undefined
          ? target.url
          : signDingTalkUrl(target.url, target.secret, deps.clock.now());
    } else {
      message = weComBody(payload, { timeZone: config.timeZone });
      url = target.url;
    }
    const result = await postToRobot(deps.fetch, url, message, config.upstreamTimeoutMs);
    const fields: LogFields = {
      channel,
      target: target.name,
      status: payload.status,
      alerts: payload.alerts.length,
      groupKey: payload.groupKey,
    };
    if (!result.ok) {
      metrics.count(channel, target.name, 'failed');
      logger.warn('robot did not take the notification', { ...fields, reason: result.reason });
      return reply(res, 502, `could not deliver to ${channel}/${target.name}: ${result.reason}`);
    }
    metrics.count(channel, target.name, 'sent');
    logger.info('notification forwarded', fields);
    return reply(res, 200, `sent to ${channel}/${target.name}`);
  }

  const relay: Relay = {
    server,
    metrics,
    async listen() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}`;
    },
    async close(graceMs = 10_000) {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(force);
    },
    async [Symbol.asyncDispose]() {
      await relay.close();
    },
  };
  return relay;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function label(channel: Channel): string {
  return channel === 'dingtalk' ? 'DingTalk' : 'WeCom';
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return 'too-large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, text: string): void {
  res
    .writeHead(status, { 'content-type': 'text/plain; charset=utf-8' })
    .end(text.endsWith('\n') ? text : `${text}\n`);
}
