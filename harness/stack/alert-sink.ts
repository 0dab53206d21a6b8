import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InterruptedError } from '../errors.ts';

/** One Alertmanager webhook notification (payload version 4) with the time it reached the sink. */
export interface AlertNotification {
  /** ms since the epoch when the sink received it. */
  readonly receivedAt: number;
  /** The request path, which names the receiver (`/alerts/<receiver>`). */
  readonly path: string;
  readonly payload: AlertmanagerWebhookPayload;
}

export interface AlertmanagerWebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface AlertmanagerWebhookPayload {
  version: string;
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AlertmanagerWebhookAlert[];
}

/** Scrape job of the sink's own /metrics (the alert probe gauge). */
export const ALERT_SINK_JOB = 'chatim-slo-harness';
/** Gauge the harness sets to fire (1) or resolve (0) the synthetic ChatimSloAlertProbe alert. */
export const ALERT_PROBE_METRIC = 'chatim_slo_alert_probe';

interface Waiter {
  predicate: (n: AlertNotification) => boolean;
  resolve: (n: AlertNotification) => void;
  reject: (err: Error) => void;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_KEPT = 10_000;

/**
 * The harness end of the alert path: an HTTP server on 127.0.0.1 that records every Alertmanager
 * webhook notification with its arrival time, so tests and the verifier can assert on real deliveries.
 * `GET /notifications` returns what it holds, for people poking at a running stack.
 */
export class AlertSink implements AsyncDisposable {
  readonly #received: AlertNotification[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #server: Server;
  readonly #probes = new Map<string, 0 | 1>();
  #port = 0;

  private constructor() {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
  }

  static async start(port = 0): Promise<AlertSink> {
    const sink = new AlertSink();
    await new Promise<void>((resolve, reject) => {
      sink.#server.once('error', reject);
      sink.#server.listen(port, '127.0.0.1', () => resolve());
    });
    sink.#port = (sink.#server.address() as AddressInfo).port;
    return sink;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  setProbe(name: string, value: 0 | 1): void {
    if (!/^[\w.-]+$/.test(name)) throw new Error(`probe name "${name}" must be letters, digits, . _ -`);
    this.#probes.set(name, value);
  }

  notifications(): readonly AlertNotification[] {
    return [...this.#received];
  }

  waitFor(
    predicate: (n: AlertNotification) => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<AlertNotification> {
    const already = this.#received.find(predicate);
    if (already) return Promise.resolve(already);
    if (signal?.aborted) return Promise.reject(new InterruptedError('waiting for an alert notification'));
    return new Promise((resolve, reject) => {
      const done = (settle: () => void) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
        settle();
      };
      const waiter: Waiter = {
        predicate,
        resolve: (n) => done(() => resolve(n)),
        reject: (err) => done(() => reject(err)),
      };
      const onAbort = () => waiter.reject(new InterruptedError('waiting for an alert notification'));
      const timer = setTimeout(
        () =>
          waiter.reject(
            new Error(
              `no matching alert notification within ${timeoutMs} ms (${this.#received.length} received so far)`,
            ),
          ),
        timeoutMs,
      );
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  async close(): Promise<void> {
    for (const waiter of [...this.#waiters]) waiter.reject(new Error('the alert sink was closed'));
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET' && req.url === '/notifications') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.#received));
      return;
    }
    if (req.method === 'GET' && req.url === '/metrics') {
      const lines = [
        `# HELP ${ALERT_PROBE_METRIC} Synthetic alert probe set by the harness: 1 fires ChatimSloAlertProbe, 0 resolves it.`,
        `# TYPE ${ALERT_PROBE_METRIC} gauge`,
        ...[...this.#probes].map(([probe, value]) => `${ALERT_PROBE_METRIC}{probe="${probe}"} ${value}`),
      ];
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
      return;
    }
    if (req.method === 'GET' && req.url === '/-/healthy') {
      res.writeHead(200).end('ok');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405).end('POST an Alertmanager webhook payload');
      return;
    }
    const receivedAt = Date.now();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413).end('payload too large');
        return;
      }
      chunks.push(chunk as Buffer);
    }
    let payload: AlertmanagerWebhookPayload;
    try {
      payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlertmanagerWebhookPayload;
    } catch {
      res.writeHead(400).end('body is not JSON');
      return;
    }
    if (!Array.isArray(payload.alerts)) {
      res.writeHead(400).end('not an Alertmanager webhook payload (no alerts array)');
      return;
    }
    const notification: AlertNotification = { receivedAt, path: req.url ?? '/', payload };
    this.#received.push(notification);
    if (this.#received.length > MAX_KEPT) this.#received.shift();
    for (const waiter of [...this.#waiters]) if (waiter.predicate(notification)) waiter.resolve(notification);
    res.writeHead(200).end('ok');
  }
}
