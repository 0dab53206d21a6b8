/**
 * Calls between ChatIM services: plain HTTP/1.1 over a keep-alive agent (connections are reused;
 * no per-call TCP handshake), JSON in and out, each call timed and counted by target and route
 * template. A target that does not answer is a DependencyError (→ 503 at the edge).
 */
import http from 'node:http';
import { DependencyError } from './app.ts';
import { counterChildren, histogramChildren, type Metrics } from './metrics.ts';

export interface CallOptions {
  /** Route template for the metric label (e.g. `/api/v1/groups/:group_id`), never the filled-in path. */
  readonly route: string;
  readonly method: string;
  /** The concrete path with query string. */
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface CallResult {
  readonly status: number;
  /** Raw JSON text of the answer (forwarded as is by the gateway: no parse/serialise round trip). */
  readonly text: string;
}

export class InternalClient {
  readonly #agent: http.Agent;
  readonly #url: URL;
  readonly #calls;
  readonly #durations;

  constructor(
    readonly target: string,
    baseUrl: string,
    metrics: Metrics,
    options: { maxSockets?: number } = {},
  ) {
    this.#url = new URL(baseUrl);
    this.#agent = new http.Agent({
      keepAlive: true,
      keepAliveMsecs: 1000,
      maxSockets: options.maxSockets ?? 256,
      maxFreeSockets: 64,
      // Shorter than the server's keepAliveTimeout (72 s), so we never reuse a socket it just closed.
      timeout: 60_000,
      scheduling: 'lifo',
    });
    this.#calls = counterChildren(metrics.get('chatim_internal_requests_total'), [
      'target',
      'route',
      'status',
    ]);
    this.#durations = histogramChildren(metrics.get('chatim_internal_request_duration_seconds'), [
      'target',
      'route',
    ]);
  }

  call(options: CallOptions): Promise<CallResult> {
    const t0 = performance.now();
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    return new Promise<CallResult>((resolve, reject) => {
      const headers: Record<string, string | number> = { accept: 'application/json', ...options.headers };
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(payload);
      }
      const req = http.request(
        {
          agent: this.#agent,
          host: this.#url.hostname,
          port: this.#url.port,
          method: options.method,
          path: options.path,
          headers,
          timeout: options.timeoutMs ?? 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => fail(err));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            this.#calls.get(this.target, options.route, String(status)).inc();
            this.#durations.get(this.target, options.route).observe((performance.now() - t0) / 1000);
            resolve({ status, text: Buffer.concat(chunks).toString('utf8') });
          });
        },
      );
      let failed = false;
      const fail = (err: Error) => {
        if (failed) return;
        failed = true;
        this.#calls.get(this.target, options.route, 'error').inc();
        this.#durations.get(this.target, options.route).observe((performance.now() - t0) / 1000);
        reject(new DependencyError(this.target, err));
      };
      req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms`)));
      req.on('error', fail);
      req.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
