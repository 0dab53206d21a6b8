/**
 * The fastify app factory every service uses: one error handler mapping everything to the error
 * catalogue (never a stack trace or an internal message in a body), one 404 label, metrics hooks
 * with cached label children, strict body validation (no type coercion) and coercing query/params
 * validation, the fault switchboard's request hooks, and request logs without query strings.
 */
import { Ajv } from 'ajv';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { ApiError, type ErrorName } from './errors.ts';
import type { Faults } from './faults.ts';
import { counterChildren, histogramChildren, type Metrics } from './metrics.ts';

/** Body size limit of every public route (a message is at most 4,000 characters). */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

/** Route label of every request that matched no route (bounded cardinality). */
export const NOT_FOUND_ROUTE = '404';

/** A failure of Redis, PostgreSQL or another service: answered 503, never 500. */
export class DependencyError extends Error {
  constructor(
    readonly dependency: string,
    cause: unknown,
  ) {
    super(`${dependency} unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'DependencyError';
  }
}

/** A pino destination: one JSON line per `write`. */
export interface LogStream {
  write(line: string): void;
}

/**
 * The `req` of every request log line. Fastify's default logs `req.url`, query string included, and
 * `/ws?token=<JWT>` would put a bearer token in the log (and any other query value, e.g. a search
 * keyword). The path is enough to follow a request; the query string is dropped.
 */
export function requestLogFields(req: FastifyRequest): Record<string, unknown> {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return {
    method: req.method,
    url: q < 0 ? url : url.slice(0, q),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

export interface AppOptions {
  readonly metrics: Metrics;
  readonly faults?: Faults | undefined;
  readonly logLevel?: string;
  /** Where log lines go (default stdout); tests pass a collector. */
  readonly logStream?: LogStream | undefined;
  readonly bodyLimit?: number;
  /** Readiness: resolves when every dependency answers; rejects naming the one that does not. */
  readonly ready?: () => Promise<void>;
}

const FASTIFY_ERRORS: Record<string, ErrorName> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
};

/** Maps any thrown value to a catalogue entry and whether it is the server's fault (to log). */
export function toApiError(err: unknown): { api: ApiError; serverFault: boolean } {
  if (err instanceof ApiError) return { api: err, serverFault: err.status >= 500 };
  if (err instanceof DependencyError)
    return { api: new ApiError('DEPENDENCY_UNAVAILABLE'), serverFault: true };
  const fe = err as Partial<FastifyError> & { validation?: unknown; type?: string };
  if (fe.validation) {
    return { api: new ApiError('VALIDATION_FAILED', String(fe.message).slice(0, 300)), serverFault: false };
  }
  const mapped = fe.code ? FASTIFY_ERRORS[fe.code] : undefined;
  if (mapped) return { api: new ApiError(mapped), serverFault: false };
  if (err instanceof SyntaxError || fe.type === 'entity.parse.failed') {
    return { api: new ApiError('MALFORMED_JSON'), serverFault: false };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (fe.statusCode === 413) return { api: new ApiError('BODY_TOO_LARGE'), serverFault: false };
    if (fe.statusCode === 415) return { api: new ApiError('UNSUPPORTED_MEDIA_TYPE'), serverFault: false };
    return { api: new ApiError('VALIDATION_FAILED'), serverFault: false };
  }
  return { api: new ApiError('INTERNAL'), serverFault: true };
}

function routeOf(request: FastifyRequest): string {
  if (request.is404) return NOT_FOUND_ROUTE;
  return request.routeOptions.url ?? NOT_FOUND_ROUTE;
}

const strictAjv = new Ajv({
  coerceTypes: false,
  useDefaults: true,
  removeAdditional: true,
  allErrors: false,
});
const coercingAjv = new Ajv({
  coerceTypes: 'array',
  useDefaults: true,
  removeAdditional: true,
  allErrors: false,
});

export function createApp(options: AppOptions): FastifyInstance {
  const app = Fastify({
    logger: {
      level: options.logLevel ?? 'silent',
      serializers: { req: requestLogFields },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Keep-alive sockets from the gateway must outlive its pool's idle timeout.
    keepAliveTimeout: 72_000,
    return503OnClosing: false,
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
  });
  // Bodies are checked strictly (a number where a string is expected is a 400); query strings and
  // path params are text on the wire, so those coerce.
  // JSON only: without this, fastify's built-in text/plain parser turns a wrong content type into a
  // confusing validation error instead of 415.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strictAjv : coercingAjv;
    return ajv.compile(schema);
  });

  const m = options.metrics;
  const requests = counterChildren(m.get('chatim_http_requests_total'), ['method', 'route', 'status']);
  const durations = histogramChildren(m.get('chatim_http_request_duration_seconds'), ['method', 'route']);
  const reqSizes = histogramChildren(m.get('chatim_http_request_size_bytes'), ['method', 'route']);
  const resSizes = histogramChildren(m.get('chatim_http_response_size_bytes'), ['method', 'route']);

  let closing = false;
  app.addHook('onClose', async () => {
    closing = true;
  });

  app.addHook('onRequest', async (request) => {
    if (closing) throw new ApiError('SHUTTING_DOWN');
    const faults = options.faults;
    if (faults?.anyActive) await faults.onRequest(routeOf(request));
  });

  app.addHook('onSend', async (request, reply, payload) => {
    let size = 0;
    if (typeof payload === 'string') size = Buffer.byteLength(payload);
    else if (Buffer.isBuffer(payload)) size = payload.length;
    else {
      const len = Number(reply.getHeader('content-length'));
      if (Number.isFinite(len)) size = len;
    }
    resSizes.get(request.method, routeOf(request)).observe(size);
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = routeOf(request);
    const method = request.method;
    requests.get(method, route, String(reply.statusCode)).inc();
    durations.get(method, route).observe(reply.elapsedTime / 1000);
    const len = Number(request.headers['content-length']);
    if (len > 0) reqSizes.get(method, route).observe(len);
  });

  app.setNotFoundHandler(async (_request, reply) => {
    const api = new ApiError('ROUTE_NOT_FOUND');
    return reply.code(api.status).send(api.body());
  });

  app.setErrorHandler(async (err, request, reply) => {
    const { api, serverFault } = toApiError(err);
    if (serverFault) request.log.error({ err, route: routeOf(request) }, 'request failed');
    return reply.code(api.status).send(api.body());
  });

  app.get('/healthz', async () => ({ code: 0, status: 'ok' }));
  app.get('/readyz', async () => {
    await options.ready?.();
    return { code: 0, status: 'ready' };
  });

  return app;
}
