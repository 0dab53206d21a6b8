/** OpenAPI 3.1 document of the public API, generated from the route table (kit/api.ts). */
import { API_PREFIX, ROUTES } from '../kit/api.ts';
import { ERRORS } from '../kit/errors.ts';

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const path = `${API_PREFIX}${r.path}`.replace(/:([a-z_]+)/g, '{$1}');
    const parameters: unknown[] = [];
    const params = r.schema.params as { properties?: Record<string, unknown> } | undefined;
    for (const [name, schema] of Object.entries(params?.properties ?? {})) {
      parameters.push({ name, in: 'path', required: true, schema });
    }
    const qs = r.schema.querystring as
      | { properties?: Record<string, unknown>; required?: string[] }
      | undefined;
    for (const [name, schema] of Object.entries(qs?.properties ?? {})) {
      parameters.push({ name, in: 'query', required: qs?.required?.includes(name) ?? false, schema });
    }
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      summary: r.summary,
      tags: [r.service],
      ...(r.auth ? { security: [{ bearer: [] }] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(r.schema.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: r.schema.body } } } }
        : {}),
      responses: {
        200: { description: 'Success: the body carries `code: 0`' },
        default: {
          description: 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
  }
  paths['/ws'] = {
    get: {
      summary:
        'WebSocket push (token in the Authorization header or the `token` query parameter). Frames: welcome, private, group (id, stream_id, conversation_id, seq, created_at in ms). Close codes: 1001 going away, 4001 token expired, 4002 logged out, 4003 heartbeat timeout, 4004 too many sockets (over CHATIM_WS_MAX_SOCKETS_PER_USER; refused at once), 4008 slow consumer (outbound buffer over CHATIM_WS_MAX_BUFFERED_BYTES, pushes and pongs alike).',
      parameters: [{ name: 'token', in: 'query', required: false, schema: { type: 'string' } }],
      responses: {
        101: { description: 'Switching protocols' },
        401: { description: 'Not authenticated' },
        403: { description: 'Origin not allowed' },
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'ChatIM',
      version: '1.0.0',
      description: 'The ChatIM public API (paths and field names of the original).',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['code', 'error', 'message'],
          properties: {
            code: { type: 'integer', enum: Object.values(ERRORS).map((e) => e.code) },
            error: { type: 'string', enum: Object.keys(ERRORS) },
            message: { type: 'string' },
          },
        },
      },
    },
  };
}
