/**
 * message-service: private and group send (acknowledged once durable in Redis), pull with a
 * bounded, correctly ordered cursor, read marks with real unread counts, conversations, history
 * from PostgreSQL. The persist worker (persist-worker.ts) moves messages to PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { backendSchema, route, STREAM_ID_PATTERN, USER_HEADER } from '../kit/api.ts';
import { createApp } from '../kit/app.ts';
import type { Db } from '../kit/db.ts';
import { ApiError } from '../kit/errors.ts';
import type { Faults } from '../kit/faults.ts';
import { KEYS, privatePairKey } from '../kit/keys.ts';
import { counterChildren, histogramChildren, type Metrics } from '../kit/metrics.ts';
import type { RedisMetrics } from '../kit/redis.ts';
import { ADVANCE_CURSOR, MARK_READ, PIN, SEND_GROUP, SEND_PRIVATE } from './scripts.ts';

export interface MessageServiceDeps {
  readonly metrics: Metrics;
  readonly faults?: Faults;
  readonly db: Db;
  readonly redis: Redis;
  readonly redisMetrics: RedisMetrics;
  readonly streamMaxLen: number;
  readonly groupMaxMembers: number;
  readonly logLevel?: string;
  /** Readiness also covers the persist worker when it runs here. */
  readonly workerReady?: () => boolean;
}

/** Conversation lists expire after 30 days without a message (refreshed on each one). */
const LIST_TTL_SECONDS = 30 * 86400;
/** How far back POST /messages/read looks for a message id without a stream id. */
const READ_SCAN_LIMIT = 1000;
const PIN_OFFSET = 1e13;
const STREAM_ID_RE = new RegExp(STREAM_ID_PATTERN);

type MsgType = 'private' | 'group';

export interface InboxEntry {
  id: string;
  type: MsgType;
  from_user_id: string;
  to_user_id: string;
  group_id: string;
  content: string;
  created_at: number;
  seq: number;
  conversation_id: string;
  rn: number;
  stream_id: string;
}

function fieldsToEntry(streamId: string, fields: string[]): InboxEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  return {
    id: f.id ?? '',
    type: f.type === 'group' ? 'group' : 'private',
    from_user_id: f.from_user_id ?? '',
    to_user_id: f.to_user_id ?? '',
    group_id: f.group_id ?? '',
    content: f.content ?? '',
    created_at: Number(f.created_at ?? 0),
    seq: Number(f.seq ?? 0),
    conversation_id: f.conversation_id ?? '',
    rn: Number(f.rn ?? 0),
    stream_id: streamId,
  };
}

/** Text preview for conversation lists: at most 50 code points (never splits a surrogate pair). */
export function preview(content: string, max = 50): string {
  const chars = Array.from(content);
  return chars.length > max ? `${chars.slice(0, max).join('')}...` : content;
}

/** `private:<peer>`/`group:<gid>` → type and id. */
export function parseConversation(id: string): { type: MsgType; peer: string } {
  const i = id.indexOf(':');
  return { type: id.slice(0, i) === 'group' ? 'group' : 'private', peer: id.slice(i + 1) };
}

function userOf(request: FastifyRequest): string {
  return request.headers[USER_HEADER] as string;
}

/** The Lua scripts of scripts.ts as typed commands (EVALSHA with an EVAL fallback, by ioredis). */
export interface Scripts {
  sendPrivate(...args: (string | number)[]): Promise<[number, string, string]>;
  sendGroup(...args: (string | number)[]): Promise<[number, string]>;
  markRead(...args: (string | number)[]): Promise<number>;
  advanceCursor(...args: string[]): Promise<string>;
  pin(...args: string[]): Promise<number>;
}

export function defineScripts(redis: Redis): Scripts {
  const r = redis as unknown as Partial<Scripts>;
  if (typeof r.sendPrivate !== 'function') {
    redis.defineCommand('sendPrivate', { lua: SEND_PRIVATE, numberOfKeys: 10 });
    redis.defineCommand('sendGroup', { lua: SEND_GROUP });
    redis.defineCommand('markRead', { lua: MARK_READ, numberOfKeys: 2 });
    redis.defineCommand('advanceCursor', { lua: ADVANCE_CURSOR, numberOfKeys: 1 });
    redis.defineCommand('pin', { lua: PIN, numberOfKeys: 1 });
  }
  return redis as unknown as Scripts;
}

export function buildApp(deps: MessageServiceDeps): FastifyInstance {
  const { db, redis, redisMetrics: rm } = deps;
  const lua = defineScripts(redis);
  const app = createApp({
    metrics: deps.metrics,
    faults: deps.faults,
    logLevel: deps.logLevel,
    ready: async () => {
      await rm.timed('ping', () => redis.ping());
      await db.ping();
      if (deps.workerReady && !deps.workerReady()) throw new Error('persist worker not running');
    },
  });
  const sent = counterChildren(deps.metrics.get('chatim_messages_sent_total'), ['type', 'status']);
  const sendTime = histogramChildren(deps.metrics.get('chatim_message_send_duration_seconds'), ['type']);
  const fanout = histogramChildren(deps.metrics.get('chatim_message_fanout_recipients'), ['type']);
  const pulled = counterChildren(deps.metrics.get('chatim_messages_pulled_total'), ['type']);
  const reads = counterChildren(deps.metrics.get('chatim_messages_read_total'), ['type']);
  const opts = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string) => ({
    schema: backendSchema(route(method, path)),
  });
  const P = '/api/v1';

  // --- relations (maintained in Redis by user-service; PostgreSQL when the set is absent) -------
  async function areFriends(a: string, b: string): Promise<boolean> {
    if ((await rm.timed('friends_check', () => redis.sismember(KEYS.friends(a), b))) === 1) return true;
    const [x, y] = a < b ? [a, b] : [b, a];
    const r = await db.query(
      'select',
      'friends',
      'SELECT 1 FROM friends WHERE user_id_1 = $1 AND user_id_2 = $2',
      [x, y],
    );
    return r.rowCount === 1;
  }

  async function userExists(id: string): Promise<boolean> {
    const r = await db.query('select', 'users', 'SELECT 1 FROM users WHERE id = $1', [id]);
    return r.rowCount === 1;
  }

  /** Current members of a live group; [] when it does not exist. */
  async function groupMembers(gid: string): Promise<string[]> {
    const cached = await rm.timed('group_members_get', () => redis.smembers(KEYS.groupMembers(gid)));
    if (cached.length > 0) return cached;
    const r = await db.query<{ user_id: string }>(
      'select',
      'group_members',
      `SELECT m.user_id FROM group_members m JOIN groups g ON g.id = m.group_id
        WHERE m.group_id = $1 AND NOT g.is_deleted ORDER BY m.user_id`,
      [gid],
    );
    return r.rows.map((x) => x.user_id);
  }

  async function requireMember(gid: string, me: string): Promise<string[]> {
    const members = await groupMembers(gid);
    if (members.length === 0) throw new ApiError('GROUP_NOT_FOUND');
    if (!members.includes(me)) throw new ApiError('NOT_GROUP_MEMBER');
    return members;
  }

  // --- send ------------------------------------------------------------------------------------
  async function timedSend<T>(type: MsgType, recipients: number, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      const result = await fn();
      sent.get(type, 'success').inc();
      sendTime.get(type).observe((performance.now() - t0) / 1000);
      fanout.get(type).observe(recipients);
      return result;
    } catch (err) {
      sent.get(type, 'failed').inc();
      throw err;
    }
  }

  const framePrefix = (f: Record<string, string | number>) => JSON.stringify(f).slice(0, -1);

  app.post<{ Body: { to_user_id: string; content: string } }>(
    `${P}/messages/send`,
    opts('POST', '/messages/send'),
    async (request) => {
      const me = userOf(request);
      const { to_user_id: to, content } = request.body;
      if (to !== me && !(await areFriends(me, to))) {
        throw new ApiError((await userExists(to)) ? 'NOT_FRIENDS' : 'USER_NOT_FOUND');
      }
      const id = randomUUID();
      const now = Date.now();
      const last = JSON.stringify({ id, from_user_id: me, content: preview(content), created_at: now });
      const [seq, rid, sid] = await timedSend('private', to === me ? 1 : 2, () =>
        rm.timed('send_private', () =>
          lua.sendPrivate(
            KEYS.seq(privatePairKey(me, to)),
            KEYS.persistStream,
            KEYS.inbox(to),
            KEYS.inbox(me),
            KEYS.conversations(to),
            KEYS.conversations(me),
            KEYS.received(to),
            KEYS.received(me),
            KEYS.lastMessage(to),
            KEYS.lastMessage(me),
            deps.streamMaxLen,
            id,
            me,
            to,
            content,
            now,
            `private:${me}`,
            `private:${to}`,
            LIST_TTL_SECONDS,
            KEYS.notifications,
            privatePairKey(me, to),
            last,
            framePrefix({
              type: 'private',
              id,
              from_user_id: me,
              to_user_id: to,
              content,
              created_at: now,
              conversation_id: `private:${me}`,
            }),
          ),
        ),
      );
      void rid;
      return {
        code: 0,
        message: '消息发送成功',
        msg: {
          id,
          from_user_id: me,
          to_user_id: to,
          content,
          created_at: now,
          seq,
          stream_id: sid,
          conversation_id: `private:${to}`,
        },
      };
    },
  );

  app.post<{ Body: { group_id: string; content: string } }>(
    `${P}/groups/messages`,
    opts('POST', '/groups/messages'),
    async (request) => {
      const me = userOf(request);
      const { group_id: gid, content } = request.body;
      const members = await requireMember(gid, me);
      if (members.length > deps.groupMaxMembers) {
        throw new ApiError('VALIDATION_FAILED', `group larger than ${deps.groupMaxMembers} members`);
      }
      const id = randomUUID();
      const now = Date.now();
      const conv = `group:${gid}`;
      const keys = [KEYS.seq(conv), KEYS.persistStream];
      for (const m of members)
        keys.push(KEYS.inbox(m), KEYS.conversations(m), KEYS.received(m), KEYS.lastMessage(m));
      const last = JSON.stringify({ id, from_user_id: me, content: preview(content), created_at: now });
      const [seq, sid] = await timedSend('group', members.length, () =>
        rm.timed('send_group', () =>
          lua.sendGroup(
            keys.length,
            ...keys,
            deps.streamMaxLen,
            id,
            me,
            gid,
            content,
            now,
            conv,
            LIST_TTL_SECONDS,
            KEYS.notifications,
            last,
            framePrefix({
              type: 'group',
              id,
              group_id: gid,
              from_user_id: me,
              content,
              created_at: now,
              conversation_id: conv,
            }),
            ...members,
          ),
        ),
      );
      return {
        code: 0,
        message: '群聊消息发送成功',
        msg: {
          id,
          group_id: gid,
          from_user_id: me,
          content,
          created_at: now,
          seq,
          stream_id: sid,
          conversation_id: conv,
        },
      };
    },
  );

  // --- pull / cursor / read --------------------------------------------------------------------
  async function names(userIds: Iterable<string>, groupIds: Iterable<string>) {
    const u = [...new Set(userIds)];
    const g = [...new Set(groupIds)];
    const get = (key: string, ids: string[]) =>
      ids.length ? rm.timed('names_get', () => redis.hmget(key, ...ids)) : Promise.resolve([]);
    const [un, gn, ua, ga] = await Promise.all([
      get(KEYS.userNames, u),
      get(KEYS.groupNames, g),
      get(KEYS.userAvatars, u),
      get(KEYS.groupAvatars, g),
    ]);
    const lookup = (ids: string[], values: (string | null)[]) => {
      const map = new Map(ids.map((id, i) => [id, values[i] ?? '']));
      return (id: string) => map.get(id) ?? '';
    };
    return {
      user: lookup(u, un),
      group: lookup(g, gn),
      userAvatar: lookup(u, ua),
      groupAvatar: lookup(g, ga),
    };
  }

  async function unreadMaps(me: string) {
    const [recv, read] = await rm.timed('unread_get', async () =>
      Promise.all([redis.hgetall(KEYS.received(me)), redis.hgetall(KEYS.readMark(me))]),
    );
    const unread = (conv: string) => Math.max(0, Number(recv[conv] ?? 0) - Number(read[conv] ?? 0));
    const readMark = (conv: string) => Number(read[conv] ?? 0);
    let total = 0;
    for (const conv of Object.keys(recv)) total += unread(conv);
    return { unread, readMark, total };
  }

  app.get<{
    Querystring: { limit: number; from_stream_id?: string; auto_mark: boolean; include_read: boolean };
  }>(`${P}/messages`, opts('GET', '/messages'), async (request) => {
    const me = userOf(request);
    const { limit, auto_mark, include_read } = request.query;
    const start =
      request.query.from_stream_id ??
      (await rm.timed('cursor_get', () => redis.get(KEYS.cursor(me)))) ??
      '0-0';
    // Bounded (COUNT) and exclusive of the cursor; Redis orders stream ids numerically (defect 5, 8).
    const raw = await rm.timed('inbox_range', () =>
      redis.xrange(KEYS.inbox(me), `(${start}`, '+', 'COUNT', limit + 1),
    );
    const hasMore = raw.length > limit;
    const entries = raw.slice(0, limit).map(([sid, fields]) => fieldsToEntry(sid, fields));
    const marks = await unreadMaps(me);
    const isRead = (e: InboxEntry) => e.from_user_id === me || e.rn <= marks.readMark(e.conversation_id);
    const visible = include_read ? entries : entries.filter((e) => !isRead(e));
    const n = await names(
      visible.flatMap((e) => [
        e.from_user_id,
        ...(e.type === 'private' ? [parseConversation(e.conversation_id).peer] : []),
      ]),
      visible.filter((e) => e.type === 'group').map((e) => e.group_id),
    );
    const byConv = new Map<string, InboxEntry[]>();
    for (const e of visible) {
      const list = byConv.get(e.conversation_id);
      if (list) list.push(e);
      else byConv.set(e.conversation_id, [e]);
    }
    const conversations = [...byConv].map(([conv, list]) => {
      const { type, peer } = parseConversation(conv);
      const lastAt = list[list.length - 1]?.created_at ?? 0;
      return {
        conversation_id: conv,
        type,
        peer_id: peer,
        peer_name: type === 'group' ? n.group(peer) : n.user(peer),
        peer_avatar: type === 'group' ? n.groupAvatar(peer) : n.userAvatar(peer),
        unread_count: marks.unread(conv),
        last_message_time: lastAt,
        messages: list.map((e) => ({
          id: e.id,
          type: e.type,
          from_user_id: e.from_user_id,
          from_user_name: n.user(e.from_user_id),
          to_user_id: e.to_user_id,
          group_id: e.group_id,
          content: e.content,
          created_at: e.created_at,
          is_read: isRead(e),
          stream_id: e.stream_id,
          seq: e.seq,
          conversation_id: e.conversation_id,
        })),
      };
    });
    conversations.sort((a, b) => b.last_message_time - a.last_message_time);
    for (const e of visible) pulled.get(e.type).inc();
    const next = entries[entries.length - 1]?.stream_id ?? start;
    let cursor: string | undefined;
    if (auto_mark && entries.length > 0) {
      cursor = await rm.timed('cursor_advance', () => lua.advanceCursor(KEYS.cursor(me), next));
    }
    return {
      code: 0,
      message: '消息拉取成功',
      conversations,
      total_unread: marks.total,
      conversation_count: conversations.length,
      next_stream_id: next,
      has_more: hasMore,
      ...(cursor ? { cursor } : {}),
    };
  });

  /** Finds an inbox entry by stream id (exact) or by message id (bounded scan of recent entries). */
  async function findEntry(
    me: string,
    messageId: string | undefined,
    streamId: string | undefined,
  ): Promise<InboxEntry> {
    if (streamId) {
      const r = await rm.timed('inbox_get', () => redis.xrange(KEYS.inbox(me), streamId, streamId));
      const hit = r[0];
      const e = hit ? fieldsToEntry(hit[0], hit[1]) : undefined;
      if (e && (messageId === undefined || e.id === messageId)) return e;
      throw new ApiError('MESSAGE_NOT_FOUND');
    }
    const r = await rm.timed('inbox_scan', () =>
      redis.xrevrange(KEYS.inbox(me), '+', '-', 'COUNT', READ_SCAN_LIMIT),
    );
    for (const [sid, fields] of r) {
      const e = fieldsToEntry(sid, fields);
      if (e.id === messageId) return e;
    }
    throw new ApiError('MESSAGE_NOT_FOUND');
  }

  async function markRead(me: string, entry: InboxEntry): Promise<number> {
    const unread = await rm.timed('mark_read', () =>
      lua.markRead(KEYS.readMark(me), KEYS.received(me), entry.conversation_id, entry.rn),
    );
    reads.get(entry.type).inc();
    return unread;
  }

  app.post<{ Body: { last_seen_stream_id: string; conversation_type?: '' | MsgType; peer_id?: string } }>(
    `${P}/messages/cursor`,
    opts('POST', '/messages/cursor'),
    async (request) => {
      const me = userOf(request);
      const { last_seen_stream_id: sid, peer_id } = request.body;
      const type = request.body.conversation_type || 'private';
      if (request.body.conversation_type === 'group' && !peer_id) {
        throw new ApiError(
          'VALIDATION_FAILED',
          'peer_id (the group id) is required for conversation_type group',
        );
      }
      // Validate everything before writing anything (defect 8).
      let entry: InboxEntry | undefined;
      if (peer_id) {
        entry = await findEntry(me, undefined, sid);
        if (entry.conversation_id !== `${type}:${peer_id}`) {
          throw new ApiError('MESSAGE_NOT_FOUND', 'the stream id is not in that conversation');
        }
      }
      const cursor = await rm.timed('cursor_advance', () => lua.advanceCursor(KEYS.cursor(me), sid));
      const unread = entry ? await markRead(me, entry) : undefined;
      return {
        code: 0,
        message: '游标更新成功',
        cursor,
        ...(unread === undefined ? {} : { unread_count: unread }),
      };
    },
  );

  app.post<{ Body: { message_id: string; stream_id?: string } }>(
    `${P}/messages/read`,
    opts('POST', '/messages/read'),
    async (request) => {
      const me = userOf(request);
      const entry = await findEntry(me, request.body.message_id, request.body.stream_id);
      const unread = await markRead(me, entry);
      return {
        code: 0,
        message: '消息已标记为已读',
        conversation_id: entry.conversation_id,
        unread_count: unread,
      };
    },
  );

  app.post<{ Params: { group_id: string }; Body: { last_read_message_id: string } }>(
    `${P}/groups/:group_id/read`,
    opts('POST', '/groups/:group_id/read'),
    async (request) => {
      const me = userOf(request);
      const ref = request.body.last_read_message_id;
      const entry = STREAM_ID_RE.test(ref)
        ? await findEntry(me, undefined, ref)
        : await findEntry(me, ref, undefined);
      if (entry.conversation_id !== `group:${request.params.group_id}`) {
        throw new ApiError('MESSAGE_NOT_FOUND', 'the message is not in that group');
      }
      const unread = await markRead(me, entry);
      return { code: 0, message: '群聊消息已标记为已读', unread_count: unread };
    },
  );

  // --- conversations ---------------------------------------------------------------------------
  app.get<{ Querystring: { limit: number; offset: number } }>(
    `${P}/conversations`,
    opts('GET', '/conversations'),
    async (request) => {
      const me = userOf(request);
      const { limit, offset } = request.query;
      const [page, total] = await rm.timed('conversations_list', () =>
        Promise.all([
          redis.zrevrange(KEYS.conversations(me), offset, offset + limit - 1, 'WITHSCORES'),
          redis.zcard(KEYS.conversations(me)),
        ]),
      );
      const items: { id: string; score: number }[] = [];
      for (let i = 0; i + 1 < page.length; i += 2) items.push({ id: page[i]!, score: Number(page[i + 1]) });
      const ids = items.map((x) => x.id);
      const lasts = ids.length
        ? await rm.timed('conversations_last', () => redis.hmget(KEYS.lastMessage(me), ...ids))
        : [];
      const marks = await unreadMaps(me);
      const parsed = ids.map(parseConversation);
      const n = await names(
        parsed.filter((c) => c.type === 'private').map((c) => c.peer),
        parsed.filter((c) => c.type === 'group').map((c) => c.peer),
      );
      const conversations = items.map((item, i) => {
        const { type, peer } = parsed[i]!;
        const pinned = item.score >= PIN_OFFSET;
        let last: { content?: string; created_at?: number } = {};
        try {
          last = JSON.parse(lasts[i] ?? '{}') as typeof last;
        } catch {
          // a malformed entry shows as no last message
        }
        return {
          conversation_id: item.id,
          type,
          peer_id: peer,
          title: type === 'group' ? n.group(peer) : n.user(peer),
          avatar: type === 'group' ? n.groupAvatar(peer) : n.userAvatar(peer),
          last_message: last.content ?? '',
          last_message_time: last.created_at ?? Math.round(pinned ? item.score - PIN_OFFSET : item.score),
          unread_count: marks.unread(item.id),
          is_pinned: pinned,
        };
      });
      return {
        code: 0,
        message: 'success',
        conversations,
        total,
        has_more: offset + conversations.length < total,
      };
    },
  );

  app.post<{ Body: { conversation_id: string } }>(
    `${P}/conversations`,
    opts('POST', '/conversations'),
    async (request) => {
      const me = userOf(request);
      const conv = request.body.conversation_id;
      const { type, peer } = parseConversation(conv);
      if (type === 'group') await requireMember(peer, me);
      else if (
        !(await rm.timed('names_exists', () => redis.hexists(KEYS.userNames, peer))) &&
        !(await userExists(peer))
      ) {
        throw new ApiError('USER_NOT_FOUND');
      }
      await rm.timed('conversation_add', () =>
        redis
          .multi()
          .zadd(KEYS.conversations(me), 'NX', Date.now(), conv)
          .expire(KEYS.conversations(me), LIST_TTL_SECONDS)
          .exec(),
      );
      return { code: 0, message: 'Conversation created successfully' };
    },
  );

  for (const [method, action] of [
    ['POST', 'pin'],
    ['DELETE', 'unpin'],
  ] as const) {
    app.route<{ Params: { conversation_id: string } }>({
      method,
      url: `${P}/conversations/:conversation_id/pin`,
      ...opts(method, '/conversations/:conversation_id/pin'),
      handler: async (request) => {
        const done = await rm.timed('conversation_pin', () =>
          lua.pin(KEYS.conversations(userOf(request)), request.params.conversation_id, action),
        );
        if (done !== 1) throw new ApiError('CONVERSATION_NOT_FOUND');
        return {
          code: 0,
          message:
            action === 'pin' ? 'Conversation pinned successfully' : 'Conversation unpinned successfully',
        };
      },
    });
  }

  app.delete<{ Params: { conversation_id: string } }>(
    `${P}/conversations/:conversation_id`,
    opts('DELETE', '/conversations/:conversation_id'),
    async (request) => {
      const me = userOf(request);
      const conv = request.params.conversation_id;
      await rm.timed('conversation_delete', () =>
        redis.multi().zrem(KEYS.conversations(me), conv).hdel(KEYS.lastMessage(me), conv).exec(),
      );
      return { code: 0, message: 'Conversation deleted successfully' };
    },
  );

  // --- history (PostgreSQL) --------------------------------------------------------------------
  app.get<{ Querystring: { conversation_id: string; before_seq?: number; limit: number } }>(
    `${P}/messages/history`,
    opts('GET', '/messages/history'),
    async (request) => {
      const me = userOf(request);
      const { conversation_id, before_seq, limit } = request.query;
      const { type, peer } = parseConversation(conversation_id);
      let key: string;
      if (type === 'group') {
        await requireMember(peer, me);
        key = conversation_id;
      } else {
        key = privatePairKey(me, peer);
      }
      const r = await db.query<{
        id: string;
        seq: string;
        type: MsgType;
        from_user_id: string;
        to_user_id: string | null;
        group_id: string | null;
        content: string;
        created_at_ms: string;
      }>(
        'select',
        'messages',
        `SELECT id, seq, type, from_user_id, to_user_id, group_id, content, created_at_ms FROM messages
          WHERE conversation_key = $1 AND ($2::bigint IS NULL OR seq < $2::bigint)
          ORDER BY seq DESC LIMIT $3`,
        [key, before_seq ?? null, limit + 1],
      );
      const rows = r.rows.slice(0, limit);
      const last = rows[rows.length - 1];
      return {
        code: 0,
        message: '获取成功',
        conversation_id,
        messages: rows.map((m) => ({
          id: m.id,
          type: m.type,
          from_user_id: m.from_user_id,
          to_user_id: m.to_user_id ?? '',
          group_id: m.group_id ?? '',
          content: m.content,
          created_at: Number(m.created_at_ms),
          seq: Number(m.seq),
        })),
        has_more: r.rows.length > limit,
        next_before_seq: last ? Number(last.seq) : null,
      };
    },
  );

  return app;
}
