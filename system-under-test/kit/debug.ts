/**
 * The debug port of a service: 127.0.0.1 only, off unless configured, every request needs the
 * debug token (`Authorization: Bearer <token>`). Serves pprof profiles (gzipped profile.proto,
 * readable by `go tool pprof`) and the fault switchboard.
 */
import { timingSafeEqual } from 'node:crypto';
import * as pprof from '@datadog/pprof';
import Fastify, { type FastifyInstance } from 'fastify';
import { ApiError } from './errors.ts';
import { FAULT_NAMES, type FaultName, type FaultSettings, type Faults, MAX_FAULT_SECONDS } from './faults.ts';

export const MAX_PROFILE_SECONDS = 60;
const HEAP_SAMPLE_BYTES = 512 * 1024;

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

const faultSchemas: Record<FaultName, object> = {
  error: {
    type: 'object',
    required: ['rate'],
    additionalProperties: false,
    properties: {
      rate: { type: 'number', minimum: 0, maximum: 1 },
      status: { type: 'integer', minimum: 429, maximum: 599, default: 500 },
      route: { type: 'string', maxLength: 200 },
    },
  },
  latency: {
    type: 'object',
    required: ['ms'],
    additionalProperties: false,
    properties: {
      ms: { type: 'integer', minimum: 1, maximum: 60_000 },
      route: { type: 'string', maxLength: 200 },
    },
  },
  memory_leak: {
    type: 'object',
    required: ['mbPerSecond', 'capMb'],
    additionalProperties: false,
    properties: {
      mbPerSecond: { type: 'number', exclusiveMinimum: 0, maximum: 512 },
      capMb: { type: 'integer', minimum: 1, maximum: 4096 },
    },
  },
  handle_leak: {
    type: 'object',
    required: ['perSecond', 'cap'],
    additionalProperties: false,
    properties: {
      perSecond: { type: 'number', exclusiveMinimum: 0, maximum: 1000 },
      cap: { type: 'integer', minimum: 1, maximum: 10_000 },
    },
  },
  event_loop_block: {
    type: 'object',
    required: ['blockMs', 'everyMs'],
    additionalProperties: false,
    properties: {
      blockMs: { type: 'integer', minimum: 1, maximum: 10_000 },
      everyMs: { type: 'integer', minimum: 10, maximum: 60_000 },
    },
  },
  push_drop: {
    type: 'object',
    required: ['rate'],
    additionalProperties: false,
    properties: { rate: { type: 'number', minimum: 0, maximum: 1 } },
  },
};

export function buildDebugApp(options: { token: string; faults: Faults; service: string }): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 });
  pprof.heap.start(HEAP_SAMPLE_BYTES, 64);
  let profiling = false;

  app.addHook('onRequest', async (request) => {
    if (!tokenMatches(request.headers.authorization, options.token))
      throw new ApiError('DEBUG_TOKEN_INVALID');
  });
  app.addHook('onClose', async () => {
    pprof.heap.stop();
  });
  app.setErrorHandler(async (err, _request, reply) => {
    const api =
      err instanceof ApiError
        ? err
        : (err as { validation?: unknown }).validation
          ? new ApiError('VALIDATION_FAILED', (err as Error).message)
          : new ApiError('INTERNAL');
    return reply.code(api.status).send(api.body());
  });
  app.setNotFoundHandler(async (_request, reply) =>
    reply.code(404).send(new ApiError('ROUTE_NOT_FOUND').body()),
  );

  app.get('/debug/pprof/', async () => ({
    code: 0,
    service: options.service,
    pid: process.pid,
    profiles: {
      profile: `/debug/pprof/profile?seconds=N (CPU + wall time, N in 1..${MAX_PROFILE_SECONDS}; one at a time)`,
      heap: '/debug/pprof/heap (sampled in-use heap)',
    },
    faults: {
      list: 'GET /debug/faults',
      set: `PUT /debug/faults/:name?seconds=N (N ≤ ${MAX_FAULT_SECONDS}) with the settings as JSON`,
      clear: 'DELETE /debug/faults/:name, DELETE /debug/faults',
      names: FAULT_NAMES,
    },
  }));

  app.get<{ Querystring: { seconds: number } }>(
    '/debug/pprof/profile',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { seconds: { type: 'integer', minimum: 1, maximum: MAX_PROFILE_SECONDS, default: 10 } },
        },
      },
    },
    async (request, reply) => {
      if (profiling) throw new ApiError('REQUEST_PENDING', 'a CPU profile is already being taken');
      profiling = true;
      try {
        const profile = await pprof.time.profile({
          durationMillis: request.query.seconds * 1000,
          withContexts: true,
          collectCpuTime: true,
        });
        const body = await pprof.encode(profile);
        return reply
          .header('content-type', 'application/octet-stream')
          .header('content-disposition', `attachment; filename="${options.service}-cpu.pb.gz"`)
          .send(body);
      } finally {
        profiling = false;
      }
    },
  );

  app.get('/debug/pprof/heap', async (_request, reply) => {
    const body = await pprof.encode(pprof.heap.profile());
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="${options.service}-heap.pb.gz"`)
      .send(body);
  });

  app.get('/debug/faults', async () => ({ code: 0, faults: options.faults.list() }));

  for (const name of FAULT_NAMES) {
    app.put<{ Querystring: { seconds: number }; Body: FaultSettings[typeof name] }>(
      `/debug/faults/${name}`,
      {
        schema: {
          querystring: {
            type: 'object',
            required: ['seconds'],
            properties: { seconds: { type: 'number', exclusiveMinimum: 0, maximum: MAX_FAULT_SECONDS } },
          },
          body: faultSchemas[name],
        },
      },
      async (request) => {
        const { until } = options.faults.set(name, request.body, request.query.seconds);
        return { code: 0, fault: name, until };
      },
    );
    app.delete(`/debug/faults/${name}`, async () => {
      options.faults.clear(name);
      return { code: 0 };
    });
  }
  app.delete('/debug/faults', async () => {
    options.faults.clear();
    return { code: 0 };
  });
  return app;
}
