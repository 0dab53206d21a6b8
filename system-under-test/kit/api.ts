/**
 * The public API of ChatIM, as data: every route under /api/v1 with the service that implements it,
 * whether it needs a token, and its JSON schema (with length and size limits). The gateway
 * validates and forwards by this table, the backends validate by it again, and the OpenAPI
 * document is generated from it. Paths and JSON field names are the original ChatIM ones.
 */
import type { ServiceName } from './config.ts';

export const API_PREFIX = '/api/v1';

/** Header the gateway sets to the authenticated user id; backends trust it (they listen on 127.0.0.1). */
export const USER_HEADER = 'x-chatim-user-id';

export const LIMITS = {
  usernameMin: 3,
  usernameMax: 32,
  passwordMin: 8,
  passwordMax: 128,
  nicknameMax: 64,
  contentMax: 4000,
  groupNameMax: 64,
  descriptionMax: 500,
  requestMessageMax: 200,
  keywordMax: 64,
  batchIdsMax: 100,
  pageMax: 100,
} as const;

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
export const STREAM_ID_PATTERN = '^[0-9]{1,15}-[0-9]{1,10}$';
export const CONVERSATION_ID_PATTERN =
  '^(private|group):[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

const uuid = { type: 'string', pattern: UUID_PATTERN, minLength: 36, maxLength: 36 } as const;
const streamId = { type: 'string', pattern: STREAM_ID_PATTERN, maxLength: 27 } as const;
const text = (maxLength: number, minLength = 0) => ({ type: 'string', minLength, maxLength }) as const;
/** Message content: at least one non-blank character. */
const content = { type: 'string', minLength: 1, maxLength: LIMITS.contentMax, pattern: '\\S' } as const;
const idList = {
  type: 'array',
  items: uuid,
  minItems: 0,
  maxItems: LIMITS.batchIdsMax,
  uniqueItems: true,
} as const;
const limit = (def: number, max: number = LIMITS.pageMax) => ({
  type: 'integer',
  minimum: 1,
  maximum: max,
  default: def,
});
const offset = { type: 'integer', minimum: 0, maximum: 100_000, default: 0 } as const;

const obj = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
});
const query = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  properties,
  required,
});

const groupParams = obj({ group_id: uuid }, ['group_id']);
const userParams = obj({ user_id: uuid }, ['user_id']);

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path under /api/v1, fastify syntax. */
  readonly path: string;
  readonly service: ServiceName;
  readonly auth: boolean;
  readonly summary: string;
  readonly schema: {
    readonly body?: object;
    readonly querystring?: object;
    readonly params?: object;
  };
  /** Counts against the per-user send rate limit. */
  readonly rateLimited?: boolean;
}

const r = (
  method: RouteSpec['method'],
  path: string,
  service: ServiceName,
  auth: boolean,
  summary: string,
  schema: RouteSpec['schema'] = {},
  extra: Partial<RouteSpec> = {},
): RouteSpec => ({ method, path, service, auth, summary, schema, ...extra });

const US = 'user-service';
const MS = 'message-service';
const GW = 'gateway';

export const ROUTES: readonly RouteSpec[] = [
  // auth / users
  r('POST', '/users', US, false, 'Register', {
    body: obj(
      {
        username: {
          type: 'string',
          minLength: LIMITS.usernameMin,
          maxLength: LIMITS.usernameMax,
          pattern: '^[A-Za-z0-9_.-]+$',
        },
        password: text(LIMITS.passwordMax, LIMITS.passwordMin),
        nickname: text(LIMITS.nicknameMax),
      },
      ['username', 'password'],
    ),
  }),
  r('POST', '/login', GW, false, 'Log in: returns an access token', {
    body: obj({ username: text(LIMITS.usernameMax, 1), password: text(LIMITS.passwordMax, 1) }, [
      'username',
      'password',
    ]),
  }),
  r('POST', '/logout', GW, true, 'Log out: revokes this token and closes its sockets'),
  r('GET', '/users/me', US, true, 'My profile'),
  r('PUT', '/users/me', US, true, 'Update my profile', {
    body: obj({ nickname: text(LIMITS.nicknameMax, 1), avatar: text(500) }),
  }),
  r('GET', '/users/:user_id', US, true, 'A user profile', { params: userParams }),
  r('GET', '/users/:user_id/online', US, true, 'Whether a user has an open WebSocket', {
    params: obj({ user_id: text(64, 1) }, ['user_id']),
  }),
  // friends
  r('POST', '/friends/requests', US, true, 'Send a friend request', {
    body: obj({ to_user_id: uuid, message: text(LIMITS.requestMessageMax) }, ['to_user_id']),
  }),
  r('GET', '/friends/requests', US, true, 'Incoming friend requests', {
    querystring: query({
      status: { type: 'string', enum: ['pending', 'approved', 'rejected'], default: 'pending' },
      limit: limit(20),
      offset,
    }),
  }),
  r('POST', '/friends/requests/handle', US, true, 'Accept or reject a friend request', {
    body: obj({ request_id: uuid, accept: { type: 'boolean' } }, ['request_id', 'accept']),
  }),
  r('GET', '/friends', US, true, 'My friends', { querystring: query({ limit: limit(20), offset }) }),
  // private messages
  r(
    'POST',
    '/messages/send',
    MS,
    true,
    'Send a private message (200 once durable in Redis)',
    { body: obj({ to_user_id: uuid, content }, ['to_user_id', 'content']) },
    { rateLimited: true },
  ),
  r('GET', '/messages', MS, true, 'Pull: inbox entries after a stream id (bounded, ordered)', {
    querystring: query({
      limit: limit(20),
      from_stream_id: streamId,
      auto_mark: { type: 'boolean', default: false },
      include_read: { type: 'boolean', default: true },
    }),
  }),
  r(
    'POST',
    '/messages/cursor',
    MS,
    true,
    'Advance the pull cursor; with peer_id also mark that conversation read',
    {
      body: obj(
        {
          last_seen_stream_id: streamId,
          conversation_type: { type: 'string', enum: ['', 'private', 'group'] },
          peer_id: uuid,
        },
        ['last_seen_stream_id'],
      ),
    },
  ),
  r('POST', '/messages/read', MS, true, 'Mark a conversation read up to this message', {
    body: obj({ message_id: uuid, stream_id: streamId }, ['message_id']),
  }),
  r(
    'GET',
    '/messages/history',
    MS,
    true,
    'Conversation history from PostgreSQL (newest first, keyset paging)',
    {
      querystring: query(
        {
          conversation_id: { type: 'string', pattern: CONVERSATION_ID_PATTERN, maxLength: 44 },
          before_seq: { type: 'integer', minimum: 1 },
          limit: limit(50),
        },
        ['conversation_id'],
      ),
    },
  ),
  // groups
  r('POST', '/groups', US, true, 'Create a group', {
    body: obj(
      { name: text(LIMITS.groupNameMax, 1), description: text(LIMITS.descriptionMax), member_ids: idList },
      ['name'],
    ),
  }),
  r('GET', '/groups', US, true, 'My groups', { querystring: query({ limit: limit(20), offset }) }),
  r('GET', '/groups/:group_id', US, true, 'Group info (members only)', { params: groupParams }),
  r('POST', '/groups/:group_id/members', US, true, 'Add members (admins)', {
    params: groupParams,
    body: obj({ user_ids: { ...idList, minItems: 1 } }, ['user_ids']),
  }),
  r('DELETE', '/groups/:group_id/members', US, true, 'Remove members (admins; never the owner)', {
    params: groupParams,
    body: obj({ group_id: uuid, user_ids: { ...idList, minItems: 1 } }, ['user_ids']),
  }),
  r('DELETE', '/groups/:group_id', US, true, 'Leave a group', { params: groupParams }),
  r(
    'POST',
    '/groups/messages',
    MS,
    true,
    'Send a group message (members only; fan-out pipelined)',
    { body: obj({ group_id: uuid, content }, ['group_id', 'content']) },
    { rateLimited: true },
  ),
  r('GET', '/groups/:group_id/members', US, true, 'Group members (members only)', {
    params: groupParams,
    querystring: query({ limit: limit(50), offset }),
  }),
  r('PUT', '/groups/:group_id/info', US, true, 'Update group info (admins)', {
    params: groupParams,
    body: obj({
      group_id: uuid,
      name: text(LIMITS.groupNameMax, 1),
      description: text(LIMITS.descriptionMax),
      avatar: text(500),
    }),
  }),
  r('POST', '/groups/:group_id/transfer', US, true, 'Transfer ownership (owner)', {
    params: groupParams,
    body: obj({ group_id: uuid, new_owner_id: uuid }, ['new_owner_id']),
  }),
  r('POST', '/groups/:group_id/dismiss', US, true, 'Dismiss the group (owner)', { params: groupParams }),
  r('POST', '/groups/:group_id/admin', US, true, 'Grant or revoke admin (owner)', {
    params: groupParams,
    body: obj({ group_id: uuid, user_id: uuid, is_admin: { type: 'boolean' } }, ['user_id', 'is_admin']),
  }),
  r('POST', '/groups/join-requests', US, true, 'Ask to join a group', {
    body: obj({ group_id: uuid, message: text(LIMITS.requestMessageMax) }, ['group_id']),
  }),
  r('POST', '/groups/join-requests/handle', US, true, 'Accept (1) or reject (2) a join request (admins)', {
    body: obj({ request_id: uuid, action: { type: 'integer', enum: [1, 2] } }, ['request_id', 'action']),
  }),
  r('GET', '/groups/:group_id/join-requests', US, true, 'Join requests of a group (admins)', {
    params: groupParams,
    querystring: query({
      status: { type: 'integer', enum: [0, 1, 2, 3], default: 0 },
      limit: limit(20),
      offset,
    }),
  }),
  r('GET', '/groups/join-requests/my', US, true, 'My join requests', {
    querystring: query({
      status: { type: 'integer', enum: [0, 1, 2, 3], default: 0 },
      limit: limit(20),
      offset,
    }),
  }),
  r('POST', '/groups/:group_id/read', MS, true, 'Mark a group read up to a message (id or stream id)', {
    params: groupParams,
    body: obj({ last_read_message_id: { anyOf: [uuid, streamId] } }, ['last_read_message_id']),
  }),
  // conversations
  r('GET', '/conversations', MS, true, 'My conversations (pinned first, newest first)', {
    querystring: query({ limit: limit(20), offset }),
  }),
  r('POST', '/conversations', MS, true, 'Add a conversation to my list', {
    body: obj({ conversation_id: { type: 'string', pattern: CONVERSATION_ID_PATTERN, maxLength: 44 } }, [
      'conversation_id',
    ]),
  }),
  r('POST', '/conversations/:conversation_id/pin', MS, true, 'Pin a conversation', {
    params: obj({ conversation_id: { type: 'string', pattern: CONVERSATION_ID_PATTERN, maxLength: 44 } }, [
      'conversation_id',
    ]),
  }),
  r('DELETE', '/conversations/:conversation_id/pin', MS, true, 'Unpin a conversation', {
    params: obj({ conversation_id: { type: 'string', pattern: CONVERSATION_ID_PATTERN, maxLength: 44 } }, [
      'conversation_id',
    ]),
  }),
  r('DELETE', '/conversations/:conversation_id', MS, true, 'Remove a conversation from my list', {
    params: obj({ conversation_id: { type: 'string', pattern: CONVERSATION_ID_PATTERN, maxLength: 44 } }, [
      'conversation_id',
    ]),
  }),
  // search
  r('GET', '/search/users', US, true, 'Search users by username or nickname', {
    querystring: query({ keyword: text(LIMITS.keywordMax), limit: limit(20), offset }),
  }),
  r('GET', '/search/groups', US, true, 'Search groups by name or description', {
    querystring: query({ keyword: text(LIMITS.keywordMax), limit: limit(20), offset }),
  }),
];

/** The routes one service implements. */
export function routesOf(service: ServiceName): RouteSpec[] {
  return ROUTES.filter((route) => route.service === service);
}

/** The route spec for `method path` (throws for a route missing from the table: a programming error). */
export function route(method: RouteSpec['method'], path: string): RouteSpec {
  const found = ROUTES.find((x) => x.method === method && x.path === path);
  if (!found) throw new Error(`route ${method} ${path} is not in kit/api.ts ROUTES`);
  return found;
}

/** Backend schema for a route: the public one plus the user header the gateway sets. */
export function backendSchema(spec: RouteSpec): RouteSpec['schema'] & { headers?: object } {
  return spec.auth
    ? {
        ...spec.schema,
        headers: { type: 'object', properties: { [USER_HEADER]: uuid }, required: [USER_HEADER] },
      }
    : spec.schema;
}
