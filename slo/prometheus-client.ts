import type { PromQL } from './promql.ts';

/**
 * Typed access to the Prometheus HTTP API, with a timeout on every call. A non-success answer is an
 * error (naming the URL, status and Prometheus' own error text); an empty result is returned as an
 * empty array, for callers to treat as "no data", never as a pass.
 */

export interface InstantSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
  /** Unix seconds. */
  readonly time: number;
}

export interface PrometheusAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly state: 'pending' | 'firing' | 'inactive';
  readonly activeAt: string;
  readonly value: string;
}

export class PrometheusApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'PrometheusApiError';
  }
}

interface ApiEnvelope<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
}

export class PrometheusClient {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 5000,
  ) {}

  async #get<T>(pathAndQuery: string): Promise<T> {
    const url = `${this.baseUrl}${pathAndQuery}`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new PrometheusApiError(
        `Prometheus at ${this.baseUrl} unreachable: ${(err as Error).message}`,
        undefined,
      );
    }
    let body: ApiEnvelope<T>;
    try {
      body = (await res.json()) as ApiEnvelope<T>;
    } catch {
      throw new PrometheusApiError(`${url} answered ${res.status} with a body that is not JSON`, res.status);
    }
    if (!res.ok || body.status !== 'success') {
      throw new PrometheusApiError(
        `${url} answered ${res.status}: ${body.errorType ?? 'error'}: ${body.error ?? 'no error text'}`,
        res.status,
      );
    }
    return body.data;
  }

  async instantQuery(query: PromQL, time?: Date): Promise<InstantSample[]> {
    const params = new URLSearchParams({ query });
    if (time) params.set('time', String(time.getTime() / 1000));
    const data = await this.#get<{ resultType: string; result: unknown }>(`/api/v1/query?${params}`);
    if (data.resultType === 'scalar') {
      const [t, v] = data.result as [number, string];
      return [{ metric: {}, value: Number(v), time: t }];
    }
    if (data.resultType !== 'vector') {
      throw new PrometheusApiError(`expected a vector from ${query}, got ${data.resultType}`, undefined);
    }
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
      metric: r.metric,
      value: Number(r.value[1]),
      time: r.value[0],
    }));
  }

  async alerts(): Promise<PrometheusAlert[]> {
    return (await this.#get<{ alerts: PrometheusAlert[] }>('/api/v1/alerts')).alerts;
  }
}
