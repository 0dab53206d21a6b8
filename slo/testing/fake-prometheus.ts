/**
 * A fake Prometheus for verifier tests: a real node:http server on 127.0.0.1 answering
 * GET /api/v1/query with canned JSON, keyed by the exact query text (built with slo/promql.ts).
 * Unknown queries get an empty vector ("no data"), as a real Prometheus would for missing series.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PromQL } from '../promql.ts';

export type CannedAnswer =
  /** One sample with this value (use NaN / ±Infinity for those Prometheus values). */
  | number
  /** An empty vector. */
  | 'empty'
  /** A Prometheus error answer. */
  | { readonly httpStatus: number; readonly errorType: string; readonly error: string }
  /** Several samples (e.g. per job). */
  | { readonly series: readonly { labels: Record<string, string>; value: number }[] };

export interface SeenQuery {
  readonly query: string;
  readonly time: number | undefined;
}

function promValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

export class FakePrometheus implements AsyncDisposable {
  readonly #answers = new Map<string, CannedAnswer>();
  readonly seen: SeenQuery[] = [];
  #server: Server | undefined;
  #url = '';

  get url(): string {
    return this.#url;
  }

  answer(query: PromQL, answer: CannedAnswer): this {
    this.#answers.set(query, answer);
    return this;
  }

  reset(): void {
    this.#answers.clear();
    this.seen.length = 0;
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== '/api/v1/query') {
      send(404, { status: 'error', errorType: 'not_found', error: `no ${url.pathname} here` });
      return;
    }
    const query = url.searchParams.get('query') ?? '';
    const t = url.searchParams.get('time');
    const time = t === null ? undefined : Number(t);
    this.seen.push({ query, time });
    const answer = this.#answers.get(query) ?? 'empty';
    const at = time ?? Date.now() / 1000;
    if (answer === 'empty') {
      send(200, { status: 'success', data: { resultType: 'vector', result: [] } });
    } else if (typeof answer === 'number') {
      send(200, {
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: {}, value: [at, promValue(answer)] }] },
      });
    } else if ('series' in answer) {
      send(200, {
        status: 'success',
        data: {
          resultType: 'vector',
          result: answer.series.map((s) => ({ metric: s.labels, value: [at, promValue(s.value)] })),
        },
      });
    } else {
      send(answer.httpStatus, { status: 'error', errorType: answer.errorType, error: answer.error });
    }
  }
}
