/**
 * user-service: accounts, profiles, online state, friends, groups and membership, search.
 * PostgreSQL is the source of truth; Redis holds what message-service reads on its hot path
 * (friend sets, group member sets, display names), rewritten on every change (never a stale cache).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ChainableCommander, Redis } from 'ioredis';
import type pg from 'pg';
import { backendSchema, route, USER_HEADER, UUID_PATTERN } from '../kit/api.ts';
import { createApp } from '../kit/app.ts';
import type { Db, Queryable } from '../kit/db.ts';
import { ApiError } from '../kit/errors.ts';
import type { Faults } from '../kit/faults.ts';
import { KEYS } from '../kit/keys.ts';
import type { Metrics } from '../kit/metrics.ts';
import type { RedisMetrics } from '../kit/redis.ts';
import { Passwords } from './passwords.ts';

export interface UserServiceDeps {
  readonly metrics: Metrics;
  readonly faults?: Faults;
  readonly db: Db;
  readonly redis: Redis;
  readonly redisMetrics: RedisMetrics;
  readonly passwordHashCost: number;
  readonly groupMaxMembers: number;
  readonly logLevel?: string;
}

const FRIEND_STATUS = { pending: 0, approved: 1, rejected: 2 } as const;
const JOIN_STATUS_NAMES = ['', 'pending', 'accepted', 'rejected'] as const;
const UUID_RE = new RegExp(UUID_PATTERN);

type Role = 'owner' | 'admin' | 'member';

const secs = (d: Date | null | undefined) => (d ? Math.floor(d.getTime() / 1000) : 0);

/** LIKE pattern for "contains", with the wildcards of the keyword escaped (defect 4). */
export function likeContains(keyword: string): string {
  return `%${keyword.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Mirrors an avatar into Redis for message-service's pull and conversation list (defect 9). */
function setAvatar(multi: ChainableCommander, key: string, id: string, avatar: string | undefined) {
  if (avatar === undefined) return multi;
  return avatar === '' ? multi.hdel(key, id) : multi.hset(key, id, avatar);
}

function userOf(request: FastifyRequest): string {
  return request.headers[USER_HEADER] as string;
}

export function buildApp(deps: UserServiceDeps): FastifyInstance {
  const { db, redis, redisMetrics: rm } = deps;
  const passwords = new Passwords(
    deps.passwordHashCost,
    deps.metrics.get('chatim_password_hash_duration_seconds'),
  );
  const app = createApp({
    metrics: deps.metrics,
    faults: deps.faults,
    logLevel: deps.logLevel,
    ready: async () => {
      await db.ping();
      await rm.timed('ping', () => redis.ping());
    },
  });

  // Business gauges, counted on scrape at most every 10 s (a count(*) per 1 s scrape would be wasteful).
  let counts = { at: 0, groups: 0, friendships: 0 };
  const refreshCounts = async () => {
    if (Date.now() - counts.at < 10_000) return;
    const [g, f] = await Promise.all([
      db.query<{ n: string }>('select', 'groups', 'SELECT count(*) AS n FROM groups WHERE NOT is_deleted'),
      db.query<{ n: string }>('select', 'friends', 'SELECT count(*) AS n FROM friends'),
    ]);
    counts = { at: Date.now(), groups: Number(g.rows[0]?.n ?? 0), friendships: Number(f.rows[0]?.n ?? 0) };
  };
  deps.metrics.onCollect('chatim_groups_total', async (gauge) => {
    await refreshCounts().catch(() => {});
    gauge.set(counts.groups);
  });
  deps.metrics.onCollect('chatim_friendships_total', async (gauge) => {
    await refreshCounts().catch(() => {});
    gauge.set(counts.friendships);
  });

  const opts = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string) => ({
    schema: backendSchema(route(method, path)),
  });
  const P = '/api/v1';

  // --- helpers ---------------------------------------------------------------------------------
  async function userExists(id: string, client?: Queryable): Promise<boolean> {
    const r = await db.query('select', 'users', 'SELECT 1 FROM users WHERE id = $1', [id], client);
    return r.rowCount === 1;
  }

  async function roleIn(groupId: string, userId: string, client?: Queryable): Promise<Role | undefined> {
    const r = await db.query<{ role: Role }>(
      'select',
      'group_members',
      `SELECT m.role FROM group_members m JOIN groups g ON g.id = m.group_id
        WHERE m.group_id = $1 AND m.user_id = $2 AND NOT g.is_deleted`,
      [groupId, userId],
      client,
    );
    return r.rows[0]?.role;
  }

  async function groupAlive(groupId: string, client?: Queryable): Promise<boolean> {
    const r = await db.query(
      'select',
      'groups',
      'SELECT 1 FROM groups WHERE id = $1 AND NOT is_deleted',
      [groupId],
      client,
    );
    return r.rowCount === 1;
  }

  /** 404 when the group does not exist, 403 when the caller is not a member; returns the role. */
  async function requireMember(groupId: string, userId: string, client?: Queryable): Promise<Role> {
    const role = await roleIn(groupId, userId, client);
    if (role) return role;
    if (!(await groupAlive(groupId, client))) throw new ApiError('GROUP_NOT_FOUND');
    throw new ApiError('NOT_GROUP_MEMBER');
  }

  async function requireAdmin(groupId: string, userId: string, client?: Queryable): Promise<Role> {
    const role = await requireMember(groupId, userId, client);
    if (role === 'member') throw new ApiError('NOT_GROUP_ADMIN');
    return role;
  }

  /**
   * Runs a membership change: the Redis member set is dropped first (readers then fall back to
   * PostgreSQL, which is always right), the change commits, then the set is rebuilt from PostgreSQL.
   */
  async function changeMembers<T>(
    groupId: string,
    change: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    await rm.timed('group_members_invalidate', () => redis.del(KEYS.groupMembers(groupId)));
    const result = await db.tx(change);
    await syncMembers(groupId);
    return result;
  }

  async function syncMembers(groupId: string): Promise<void> {
    const r = await db.query<{ user_id: string }>(
      'select',
      'group_members',
      `SELECT m.user_id FROM group_members m JOIN groups g ON g.id = m.group_id
        WHERE m.group_id = $1 AND NOT g.is_deleted`,
      [groupId],
    );
    const key = KEYS.groupMembers(groupId);
    const ids = r.rows.map((x) => x.user_id);
    await rm.timed('group_members_sync', async () => {
      const multi = redis.multi().del(key);
      if (ids.length > 0) multi.sadd(key, ...ids);
      await multi.exec();
    });
  }

  // --- internal --------------------------------------------------------------------------------
  app.post<{ Body: { username: string; password: string } }>(
    '/internal/login',
    { schema: route('POST', '/login').schema },
    async (request) => {
      const { username, password } = request.body;
      const r = await db.query<{ id: string; password_hash: string }>(
        'select',
        'users',
        'SELECT id, password_hash FROM users WHERE username = $1',
        [username],
      );
      const row = r.rows[0];
      const ok = await passwords.verify(password, row?.password_hash);
      if (!row || !ok) throw new ApiError('INVALID_CREDENTIALS');
      return { code: 0, user_id: row.id };
    },
  );

  // --- users -----------------------------------------------------------------------------------
  app.post<{ Body: { username: string; password: string; nickname?: string } }>(
    `${P}/users`,
    opts('POST', '/users'),
    async (request) => {
      const { username, password } = request.body;
      const nickname = request.body.nickname ?? '';
      const id = randomUUID();
      const hash = await passwords.hash(password);
      try {
        await db.query(
          'insert',
          'users',
          'INSERT INTO users (id, username, nickname, password_hash) VALUES ($1, $2, $3, $4)',
          [id, username, nickname, hash],
        );
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw new ApiError('USERNAME_TAKEN');
        throw err;
      }
      await rm.timed('names_set', () => redis.hset(KEYS.userNames, id, nickname || username));
      return { code: 0, message: '注册成功', user_id: id };
    },
  );

  app.get(`${P}/users/me`, opts('GET', '/users/me'), async (request) => {
    const r = await db.query<{
      id: string;
      username: string;
      nickname: string;
      avatar: string;
      created_at: Date;
    }>('select', 'users', 'SELECT id, username, nickname, avatar, created_at FROM users WHERE id = $1', [
      userOf(request),
    ]);
    const u = r.rows[0];
    if (!u) throw new ApiError('USER_NOT_FOUND');
    return {
      code: 0,
      message: '获取成功',
      data: {
        user_id: u.id,
        username: u.username,
        nickname: u.nickname,
        avatar: u.avatar,
        created_at: secs(u.created_at),
      },
    };
  });

  app.put<{ Body: { nickname?: string; avatar?: string } }>(
    `${P}/users/me`,
    opts('PUT', '/users/me'),
    async (request) => {
      const { nickname, avatar } = request.body;
      if (nickname === undefined && avatar === undefined)
        throw new ApiError('VALIDATION_FAILED', 'nothing to update');
      const r = await db.query<{ username: string; nickname: string; avatar: string }>(
        'update',
        'users',
        `UPDATE users SET nickname = COALESCE($2, nickname), avatar = COALESCE($3, avatar), updated_at = now()
        WHERE id = $1 RETURNING username, nickname, avatar`,
        [userOf(request), nickname ?? null, avatar ?? null],
      );
      const u = r.rows[0];
      if (!u) throw new ApiError('USER_NOT_FOUND');
      await rm.timed('names_set', () =>
        setAvatar(
          redis.multi().hset(KEYS.userNames, userOf(request), u.nickname || u.username),
          KEYS.userAvatars,
          userOf(request),
          u.avatar,
        ).exec(),
      );
      return { code: 0, message: '更新成功' };
    },
  );

  app.get<{ Params: { user_id: string } }>(
    `${P}/users/:user_id`,
    opts('GET', '/users/:user_id'),
    async (request) => {
      const r = await db.query<{ id: string; username: string; nickname: string; avatar: string }>(
        'select',
        'users',
        'SELECT id, username, nickname, avatar FROM users WHERE id = $1',
        [request.params.user_id],
      );
      const u = r.rows[0];
      if (!u) throw new ApiError('USER_NOT_FOUND');
      return {
        code: 0,
        msg: 'success',
        message: 'success',
        data: { id: u.id, username: u.username, nickname: u.nickname, avatar: u.avatar },
      };
    },
  );

  app.get<{ Params: { user_id: string } }>(
    `${P}/users/:user_id/online`,
    opts('GET', '/users/:user_id/online'),
    async (request) => {
      let id = request.params.user_id;
      if (!UUID_RE.test(id)) {
        const r = await db.query<{ id: string }>(
          'select',
          'users',
          'SELECT id FROM users WHERE username = $1',
          [id],
        );
        const found = r.rows[0];
        if (!found) throw new ApiError('USER_NOT_FOUND');
        id = found.id;
      }
      const online = await rm.timed('online_get', () => redis.exists(KEYS.online(id)));
      return { code: 0, message: '查询成功', user_id: id, is_online: online === 1 };
    },
  );

  // --- friends ---------------------------------------------------------------------------------
  app.post<{ Body: { to_user_id: string; message?: string } }>(
    `${P}/friends/requests`,
    opts('POST', '/friends/requests'),
    async (request) => {
      const me = userOf(request);
      const to = request.body.to_user_id;
      if (to === me) throw new ApiError('CANNOT_TARGET_SELF');
      const id = await db.tx(async (c) => {
        if (!(await userExists(to, c))) throw new ApiError('USER_NOT_FOUND');
        const [a, b] = me < to ? [me, to] : [to, me];
        const f = await db.query(
          'select',
          'friends',
          'SELECT 1 FROM friends WHERE user_id_1 = $1 AND user_id_2 = $2',
          [a, b],
          c,
        );
        if (f.rowCount === 1) throw new ApiError('ALREADY_FRIENDS');
        const r = await db.query<{ id: string; status: number }>(
          'upsert',
          'friend_requests',
          `INSERT INTO friend_requests (id, from_user_id, to_user_id, message) VALUES ($1, $2, $3, $4)
           ON CONFLICT (from_user_id, to_user_id) DO UPDATE
             SET status = 0, message = EXCLUDED.message, created_at = now(), processed_at = NULL
             WHERE friend_requests.status <> 0
           RETURNING id, status`,
          [randomUUID(), me, to, request.body.message ?? ''],
          c,
        );
        const row = r.rows[0];
        if (!row) throw new ApiError('REQUEST_PENDING');
        return row.id;
      });
      return { code: 0, message: '好友请求已发送', request_id: id };
    },
  );

  app.get<{ Querystring: { status: keyof typeof FRIEND_STATUS; limit: number; offset: number } }>(
    `${P}/friends/requests`,
    opts('GET', '/friends/requests'),
    async (request) => {
      const { status, limit, offset } = request.query;
      const me = userOf(request);
      const s = FRIEND_STATUS[status];
      const [rows, total] = await Promise.all([
        db.query<{
          id: string;
          from_user_id: string;
          username: string;
          nickname: string;
          message: string;
          status: number;
          created_at: Date;
        }>(
          'select',
          'friend_requests',
          `SELECT r.id, r.from_user_id, u.username, u.nickname, r.message, r.status, r.created_at
             FROM friend_requests r JOIN users u ON u.id = r.from_user_id
            WHERE r.to_user_id = $1 AND r.status = $2
            ORDER BY r.created_at DESC, r.id LIMIT $3 OFFSET $4`,
          [me, s, limit, offset],
        ),
        db.query<{ n: string }>(
          'select',
          'friend_requests',
          'SELECT count(*) AS n FROM friend_requests WHERE to_user_id = $1 AND status = $2',
          [me, s],
        ),
      ]);
      return {
        code: 0,
        message: '获取成功',
        requests: rows.rows.map((x) => ({
          id: x.id,
          from_user_id: x.from_user_id,
          from_username: x.username,
          from_nickname: x.nickname,
          message: x.message,
          status: x.status,
          created_at: secs(x.created_at),
        })),
        total: Number(total.rows[0]?.n ?? 0),
      };
    },
  );

  app.post<{ Body: { request_id: string; accept: boolean } }>(
    `${P}/friends/requests/handle`,
    opts('POST', '/friends/requests/handle'),
    async (request) => {
      const me = userOf(request);
      const { request_id, accept } = request.body;
      const pair = await db.tx(async (c) => {
        const r = await db.query<{ from_user_id: string; to_user_id: string; status: number }>(
          'select',
          'friend_requests',
          'SELECT from_user_id, to_user_id, status FROM friend_requests WHERE id = $1 FOR UPDATE',
          [request_id],
          c,
        );
        const row = r.rows[0];
        if (!row) throw new ApiError('FRIEND_REQUEST_NOT_FOUND');
        if (row.to_user_id !== me) throw new ApiError('NOT_ADDRESSEE');
        if (row.status !== FRIEND_STATUS.pending) throw new ApiError('REQUEST_ALREADY_HANDLED');
        await db.query(
          'update',
          'friend_requests',
          'UPDATE friend_requests SET status = $2, processed_at = now() WHERE id = $1',
          [request_id, accept ? FRIEND_STATUS.approved : FRIEND_STATUS.rejected],
          c,
        );
        if (!accept) return undefined;
        const [a, b] = row.from_user_id < me ? [row.from_user_id, me] : [me, row.from_user_id];
        await db.query(
          'insert',
          'friends',
          'INSERT INTO friends (user_id_1, user_id_2) VALUES ($1, $2) ON CONFLICT DO NOTHING',
          [a, b],
          c,
        );
        return [a, b] as const;
      });
      if (pair) {
        const [a, b] = pair;
        await rm.timed('friends_add', () =>
          redis.multi().sadd(KEYS.friends(a), b).sadd(KEYS.friends(b), a).exec(),
        );
      }
      return { code: 0, message: accept ? '已添加为好友' : '请求已拒绝' };
    },
  );

  app.get<{ Querystring: { limit: number; offset: number } }>(
    `${P}/friends`,
    opts('GET', '/friends'),
    async (request) => {
      const me = userOf(request);
      const { limit, offset } = request.query;
      const friendsOf = `SELECT CASE WHEN user_id_1 = $1 THEN user_id_2 ELSE user_id_1 END AS id, created_at
                         FROM friends WHERE user_id_1 = $1 OR user_id_2 = $1`;
      const [rows, total] = await Promise.all([
        db.query<{ id: string; username: string; nickname: string; created_at: Date }>(
          'select',
          'friends',
          `SELECT u.id, u.username, u.nickname, f.created_at FROM (${friendsOf}) f JOIN users u ON u.id = f.id
          ORDER BY u.username LIMIT $2 OFFSET $3`,
          [me, limit, offset],
        ),
        db.query<{ n: string }>('select', 'friends', `SELECT count(*) AS n FROM (${friendsOf}) f`, [me]),
      ]);
      return {
        code: 0,
        message: '获取成功',
        data: rows.rows.map((x) => ({
          user_id: x.id,
          username: x.username,
          nickname: x.nickname,
          created_at: secs(x.created_at),
        })),
        total: Number(total.rows[0]?.n ?? 0),
      };
    },
  );

  // --- groups ----------------------------------------------------------------------------------
  const groupSelect = `SELECT g.id, g.name, g.description, g.avatar, g.owner_id, g.created_at,
                              (SELECT count(*) FROM group_members m WHERE m.group_id = g.id) AS member_count
                         FROM groups g`;
  type GroupRow = {
    id: string;
    name: string;
    description: string;
    avatar: string;
    owner_id: string;
    created_at: Date;
    member_count: string;
  };
  const groupJson = (g: GroupRow) => ({
    id: g.id,
    name: g.name,
    description: g.description,
    avatar: g.avatar,
    creator_id: g.owner_id,
    owner_id: g.owner_id,
    created_at: secs(g.created_at),
    member_count: Number(g.member_count),
  });

  app.post<{ Body: { name: string; description?: string; member_ids?: string[] } }>(
    `${P}/groups`,
    opts('POST', '/groups'),
    async (request) => {
      const me = userOf(request);
      const { name, description = '' } = request.body;
      const members = [...new Set((request.body.member_ids ?? []).filter((id) => id !== me))];
      if (members.length + 1 > deps.groupMaxMembers) {
        throw new ApiError('VALIDATION_FAILED', `a group has at most ${deps.groupMaxMembers} members`);
      }
      const id = randomUUID();
      await db.tx(async (c) => {
        if (members.length > 0) {
          const r = await db.query<{ n: string }>(
            'select',
            'users',
            'SELECT count(*) AS n FROM users WHERE id = ANY($1::uuid[])',
            [members],
            c,
          );
          if (Number(r.rows[0]?.n) !== members.length)
            throw new ApiError('USER_NOT_FOUND', 'a member does not exist');
        }
        await db.query(
          'insert',
          'groups',
          'INSERT INTO groups (id, name, description, owner_id) VALUES ($1, $2, $3, $4)',
          [id, name, description, me],
          c,
        );
        await db.query(
          'insert',
          'group_members',
          `INSERT INTO group_members (group_id, user_id, role)
           SELECT $1, u, CASE WHEN u = $2 THEN 'owner' ELSE 'member' END FROM unnest($3::uuid[]) AS u`,
          [id, me, [me, ...members]],
          c,
        );
      });
      await syncMembers(id);
      await rm.timed('names_set', () => redis.hset(KEYS.groupNames, id, name));
      return { code: 0, message: '群组创建成功', group_id: id };
    },
  );

  app.get<{ Querystring: { limit: number; offset: number } }>(
    `${P}/groups`,
    opts('GET', '/groups'),
    async (request) => {
      const me = userOf(request);
      const { limit, offset } = request.query;
      const [rows, total] = await Promise.all([
        db.query<GroupRow>(
          'select',
          'groups',
          `${groupSelect} JOIN group_members me ON me.group_id = g.id AND me.user_id = $1
          WHERE NOT g.is_deleted ORDER BY g.created_at DESC, g.id LIMIT $2 OFFSET $3`,
          [me, limit, offset],
        ),
        db.query<{ n: string }>(
          'select',
          'groups',
          'SELECT count(*) AS n FROM groups g JOIN group_members m ON m.group_id = g.id AND m.user_id = $1 WHERE NOT g.is_deleted',
          [me],
        ),
      ]);
      return {
        code: 0,
        message: '获取成功',
        groups: rows.rows.map(groupJson),
        total: Number(total.rows[0]?.n ?? 0),
      };
    },
  );

  app.get<{ Params: { group_id: string } }>(
    `${P}/groups/:group_id`,
    opts('GET', '/groups/:group_id'),
    async (request) => {
      const gid = request.params.group_id;
      await requireMember(gid, userOf(request));
      const r = await db.query<GroupRow>(
        'select',
        'groups',
        `${groupSelect} WHERE g.id = $1 AND NOT g.is_deleted`,
        [gid],
      );
      const g = r.rows[0];
      if (!g) throw new ApiError('GROUP_NOT_FOUND');
      return { code: 0, message: '查询成功', group: groupJson(g) };
    },
  );

  app.post<{ Params: { group_id: string }; Body: { user_ids: string[] } }>(
    `${P}/groups/:group_id/members`,
    opts('POST', '/groups/:group_id/members'),
    async (request) => {
      const gid = request.params.group_id;
      const ids = request.body.user_ids;
      const added = await changeMembers(gid, async (c) => {
        await requireAdmin(gid, userOf(request), c);
        const existing = await db.query<{ n: string }>(
          'select',
          'users',
          'SELECT count(*) AS n FROM users WHERE id = ANY($1::uuid[])',
          [ids],
          c,
        );
        if (Number(existing.rows[0]?.n) !== ids.length)
          throw new ApiError('USER_NOT_FOUND', 'a user does not exist');
        const count = await db.query<{ n: string }>(
          'select',
          'group_members',
          'SELECT count(*) AS n FROM group_members WHERE group_id = $1',
          [gid],
          c,
        );
        if (Number(count.rows[0]?.n) + ids.length > deps.groupMaxMembers) {
          throw new ApiError('VALIDATION_FAILED', `a group has at most ${deps.groupMaxMembers} members`);
        }
        const r = await db.query(
          'insert',
          'group_members',
          `INSERT INTO group_members (group_id, user_id, role) SELECT $1, u, 'member' FROM unnest($2::uuid[]) AS u
           ON CONFLICT DO NOTHING`,
          [gid, ids],
          c,
        );
        return r.rowCount ?? 0;
      });
      return { code: 0, message: '添加成员成功', added_count: added };
    },
  );

  app.delete<{ Params: { group_id: string }; Body: { user_ids: string[] } }>(
    `${P}/groups/:group_id/members`,
    opts('DELETE', '/groups/:group_id/members'),
    async (request) => {
      const gid = request.params.group_id; // the path decides (defect 12); a body group_id is ignored
      const me = userOf(request);
      const removed = await changeMembers(gid, async (c) => {
        const myRole = await requireAdmin(gid, me, c);
        const targets = await db.query<{ user_id: string; role: Role }>(
          'select',
          'group_members',
          'SELECT user_id, role FROM group_members WHERE group_id = $1 AND user_id = ANY($2::uuid[])',
          [gid, request.body.user_ids],
          c,
        );
        for (const t of targets.rows) {
          if (t.role === 'owner') throw new ApiError('NOT_GROUP_OWNER', 'the owner cannot be removed');
          if (t.role === 'admin' && myRole !== 'owner')
            throw new ApiError('NOT_GROUP_OWNER', 'only the owner removes admins');
        }
        const r = await db.query(
          'delete',
          'group_members',
          'DELETE FROM group_members WHERE group_id = $1 AND user_id = ANY($2::uuid[])',
          [gid, request.body.user_ids],
          c,
        );
        return r.rowCount ?? 0;
      });
      return { code: 0, message: '移除成员成功', removed_count: removed };
    },
  );

  app.delete<{ Params: { group_id: string } }>(
    `${P}/groups/:group_id`,
    opts('DELETE', '/groups/:group_id'),
    async (request) => {
      const gid = request.params.group_id;
      const me = userOf(request);
      await changeMembers(gid, async (c) => {
        const role = await requireMember(gid, me, c);
        if (role === 'owner') throw new ApiError('OWNER_CANNOT_LEAVE');
        await db.query(
          'delete',
          'group_members',
          'DELETE FROM group_members WHERE group_id = $1 AND user_id = $2',
          [gid, me],
          c,
        );
      });
      return { code: 0, message: '离开群组成功' };
    },
  );

  app.get<{ Params: { group_id: string }; Querystring: { limit: number; offset: number } }>(
    `${P}/groups/:group_id/members`,
    opts('GET', '/groups/:group_id/members'),
    async (request) => {
      const gid = request.params.group_id;
      await requireMember(gid, userOf(request));
      const { limit, offset } = request.query;
      const [rows, total] = await Promise.all([
        db.query<{ user_id: string; username: string; nickname: string; role: Role; joined_at: Date }>(
          'select',
          'group_members',
          `SELECT m.user_id, u.username, u.nickname, m.role, m.joined_at FROM group_members m JOIN users u ON u.id = m.user_id
            WHERE m.group_id = $1
            ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, m.joined_at, m.user_id
            LIMIT $2 OFFSET $3`,
          [gid, limit, offset],
        ),
        db.query<{ n: string }>(
          'select',
          'group_members',
          'SELECT count(*) AS n FROM group_members WHERE group_id = $1',
          [gid],
        ),
      ]);
      return {
        code: 0,
        message: '获取成功',
        members: rows.rows.map((x) => ({ ...x, joined_at: secs(x.joined_at) })),
        total: Number(total.rows[0]?.n ?? 0),
      };
    },
  );

  app.put<{ Params: { group_id: string }; Body: { name?: string; description?: string; avatar?: string } }>(
    `${P}/groups/:group_id/info`,
    opts('PUT', '/groups/:group_id/info'),
    async (request) => {
      const gid = request.params.group_id;
      const { name, description, avatar } = request.body;
      if (name === undefined && description === undefined && avatar === undefined) {
        throw new ApiError('VALIDATION_FAILED', 'nothing to update');
      }
      await requireAdmin(gid, userOf(request));
      await db.query(
        'update',
        'groups',
        `UPDATE groups SET name = COALESCE($2, name), description = COALESCE($3, description),
                avatar = COALESCE($4, avatar), updated_at = now() WHERE id = $1`,
        [gid, name ?? null, description ?? null, avatar ?? null],
      );
      if (name !== undefined || avatar !== undefined) {
        await rm.timed('names_set', () => {
          const multi = redis.multi();
          if (name !== undefined) multi.hset(KEYS.groupNames, gid, name);
          return setAvatar(multi, KEYS.groupAvatars, gid, avatar).exec();
        });
      }
      return { code: 0, message: '群信息更新成功' };
    },
  );

  app.post<{ Params: { group_id: string }; Body: { new_owner_id: string } }>(
    `${P}/groups/:group_id/transfer`,
    opts('POST', '/groups/:group_id/transfer'),
    async (request) => {
      const gid = request.params.group_id;
      const me = userOf(request);
      const to = request.body.new_owner_id;
      if (to === me) throw new ApiError('CANNOT_TARGET_SELF');
      await db.tx(async (c) => {
        const role = await requireMember(gid, me, c);
        if (role !== 'owner') throw new ApiError('NOT_GROUP_OWNER');
        if (!(await roleIn(gid, to, c)))
          throw new ApiError('USER_NOT_FOUND', 'the new owner is not a member');
        await db.query(
          'update',
          'group_members',
          `UPDATE group_members SET role = 'admin' WHERE group_id = $1 AND user_id = $2`,
          [gid, me],
          c,
        );
        await db.query(
          'update',
          'group_members',
          `UPDATE group_members SET role = 'owner' WHERE group_id = $1 AND user_id = $2`,
          [gid, to],
          c,
        );
        await db.query(
          'update',
          'groups',
          'UPDATE groups SET owner_id = $2, updated_at = now() WHERE id = $1',
          [gid, to],
          c,
        );
      });
      return { code: 0, message: '群主转让成功' };
    },
  );

  app.post<{ Params: { group_id: string } }>(
    `${P}/groups/:group_id/dismiss`,
    opts('POST', '/groups/:group_id/dismiss'),
    async (request) => {
      const gid = request.params.group_id;
      await changeMembers(gid, async (c) => {
        const role = await requireMember(gid, userOf(request), c);
        if (role !== 'owner') throw new ApiError('NOT_GROUP_OWNER');
        await db.query(
          'update',
          'groups',
          'UPDATE groups SET is_deleted = true, updated_at = now() WHERE id = $1',
          [gid],
          c,
        );
        await db.query('delete', 'group_members', 'DELETE FROM group_members WHERE group_id = $1', [gid], c);
      });
      return { code: 0, message: '群组已解散' };
    },
  );

  app.post<{ Params: { group_id: string }; Body: { user_id: string; is_admin: boolean } }>(
    `${P}/groups/:group_id/admin`,
    opts('POST', '/groups/:group_id/admin'),
    async (request) => {
      const gid = request.params.group_id;
      const { user_id, is_admin } = request.body;
      await db.tx(async (c) => {
        const role = await requireMember(gid, userOf(request), c);
        if (role !== 'owner') throw new ApiError('NOT_GROUP_OWNER');
        const target = await roleIn(gid, user_id, c);
        if (!target) throw new ApiError('USER_NOT_FOUND', 'not a member of this group');
        if (target === 'owner') throw new ApiError('CANNOT_TARGET_SELF', "the owner's role cannot change");
        await db.query(
          'update',
          'group_members',
          'UPDATE group_members SET role = $3 WHERE group_id = $1 AND user_id = $2',
          [gid, user_id, is_admin ? 'admin' : 'member'],
          c,
        );
      });
      return { code: 0, message: is_admin ? '管理员设置成功' : '管理员已取消' };
    },
  );

  app.post<{ Body: { group_id: string; message?: string } }>(
    `${P}/groups/join-requests`,
    opts('POST', '/groups/join-requests'),
    async (request) => {
      const me = userOf(request);
      const gid = request.body.group_id;
      const id = await db.tx(async (c) => {
        if (!(await groupAlive(gid, c))) throw new ApiError('GROUP_NOT_FOUND');
        if (await roleIn(gid, me, c)) throw new ApiError('ALREADY_MEMBER');
        const r = await db.query<{ id: string }>(
          'upsert',
          'group_join_requests',
          `INSERT INTO group_join_requests (id, group_id, from_user_id, message) VALUES ($1, $2, $3, $4)
           ON CONFLICT (group_id, from_user_id) DO UPDATE
             SET status = 1, message = EXCLUDED.message, created_at = now(), processed_at = NULL, reviewed_by = NULL
             WHERE group_join_requests.status <> 1
           RETURNING id`,
          [randomUUID(), gid, me, request.body.message ?? ''],
          c,
        );
        const row = r.rows[0];
        if (!row) throw new ApiError('REQUEST_PENDING');
        return row.id;
      });
      return { code: 0, message: '加群申请已发送', request_id: id };
    },
  );

  app.post<{ Body: { request_id: string; action: 1 | 2 } }>(
    `${P}/groups/join-requests/handle`,
    opts('POST', '/groups/join-requests/handle'),
    async (request) => {
      const { request_id, action } = request.body;
      const me = userOf(request);
      const found = await db.query<{ group_id: string }>(
        'select',
        'group_join_requests',
        'SELECT group_id FROM group_join_requests WHERE id = $1',
        [request_id],
      );
      const gid = found.rows[0]?.group_id;
      if (!gid) throw new ApiError('JOIN_REQUEST_NOT_FOUND');
      await changeMembers(gid, async (c) => {
        await requireAdmin(gid, me, c);
        const r = await db.query<{ from_user_id: string; status: number }>(
          'select',
          'group_join_requests',
          'SELECT from_user_id, status FROM group_join_requests WHERE id = $1 FOR UPDATE',
          [request_id],
          c,
        );
        const row = r.rows[0];
        if (!row) throw new ApiError('JOIN_REQUEST_NOT_FOUND');
        if (row.status !== 1) throw new ApiError('REQUEST_ALREADY_HANDLED');
        await db.query(
          'update',
          'group_join_requests',
          'UPDATE group_join_requests SET status = $2, reviewed_by = $3, processed_at = now() WHERE id = $1',
          [request_id, action === 1 ? 2 : 3, me],
          c,
        );
        if (action === 1) {
          await db.query(
            'insert',
            'group_members',
            `INSERT INTO group_members (group_id, user_id, role) VALUES ($1, $2, 'member') ON CONFLICT DO NOTHING`,
            [gid, row.from_user_id],
            c,
          );
        }
      });
      return { code: 0, message: action === 1 ? '申请已接受' : '申请已拒绝' };
    },
  );

  type JoinRow = {
    id: string;
    group_id: string;
    group_name: string;
    from_user_id: string;
    from_username: string;
    message: string;
    status: number;
    reviewed_by: string | null;
    created_at: Date;
    processed_at: Date | null;
  };
  const joinSelect = `SELECT r.id, r.group_id, g.name AS group_name, r.from_user_id, u.username AS from_username, r.message,
                             r.status, r.reviewed_by, r.created_at, r.processed_at
                        FROM group_join_requests r JOIN groups g ON g.id = r.group_id JOIN users u ON u.id = r.from_user_id`;
  const joinJson = (x: JoinRow) => ({
    ...x,
    status: JOIN_STATUS_NAMES[x.status] ?? 'unknown',
    reviewed_by: x.reviewed_by ?? '',
    created_at: secs(x.created_at),
    processed_at: secs(x.processed_at),
  });

  app.get<{ Params: { group_id: string }; Querystring: { status: number; limit: number; offset: number } }>(
    `${P}/groups/:group_id/join-requests`,
    opts('GET', '/groups/:group_id/join-requests'),
    async (request) => {
      const gid = request.params.group_id;
      await requireAdmin(gid, userOf(request));
      const { status, limit, offset } = request.query;
      const where = 'r.group_id = $1 AND ($2::int = 0 OR r.status = $2::int)';
      const [rows, total] = await Promise.all([
        db.query<JoinRow>(
          'select',
          'group_join_requests',
          `${joinSelect} WHERE ${where} ORDER BY r.created_at DESC, r.id LIMIT $3 OFFSET $4`,
          [gid, status, limit, offset],
        ),
        db.query<{ n: string }>(
          'select',
          'group_join_requests',
          `SELECT count(*) AS n FROM group_join_requests r WHERE ${where}`,
          [gid, status],
        ),
      ]);
      return {
        code: 0,
        message: '获取成功',
        requests: rows.rows.map(joinJson),
        total: Number(total.rows[0]?.n ?? 0),
      };
    },
  );

  app.get<{ Querystring: { status: number; limit: number; offset: number } }>(
    `${P}/groups/join-requests/my`,
    opts('GET', '/groups/join-requests/my'),
    async (request) => {
      const { status, limit, offset } = request.query;
      const where = 'r.from_user_id = $1 AND ($2::int = 0 OR r.status = $2::int)';
      const me = userOf(request);
      const [rows, total] = await Promise.all([
        db.query<JoinRow>(
          'select',
          'group_join_requests',
          `${joinSelect} WHERE ${where} ORDER BY r.created_at DESC, r.id LIMIT $3 OFFSET $4`,
          [me, status, limit, offset],
        ),
        db.query<{ n: string }>(
          'select',
          'group_join_requests',
          `SELECT count(*) AS n FROM group_join_requests r WHERE ${where}`,
          [me, status],
        ),
      ]);
      return {
        code: 0,
        message: '获取成功',
        requests: rows.rows.map(joinJson),
        total: Number(total.rows[0]?.n ?? 0),
      };
    },
  );

  // --- search ----------------------------------------------------------------------------------
  app.get<{ Querystring: { keyword?: string; limit: number; offset: number } }>(
    `${P}/search/users`,
    opts('GET', '/search/users'),
    async (request) => {
      const keyword = (request.query.keyword ?? '').trim();
      if (keyword === '') return { code: 0, message: '搜索成功', users: [], total: 0 };
      const { limit, offset } = request.query;
      const like = likeContains(keyword.toLowerCase());
      const where = `lower(username) LIKE $1 ESCAPE '\\' OR lower(nickname) LIKE $1 ESCAPE '\\'`;
      const [rows, total] = await Promise.all([
        db.query<{ id: string; username: string; nickname: string; avatar: string }>(
          'select',
          'users',
          `SELECT id, username, nickname, avatar FROM users WHERE ${where}
            ORDER BY CASE WHEN lower(username) = $2 OR lower(nickname) = $2 THEN 0
                          WHEN lower(username) LIKE $3 ESCAPE '\\' OR lower(nickname) LIKE $3 ESCAPE '\\' THEN 1 ELSE 2 END,
                     username LIMIT $4 OFFSET $5`,
          [like, keyword.toLowerCase(), `${like.slice(1)}`, limit, offset],
        ),
        db.query<{ n: string }>('select', 'users', `SELECT count(*) AS n FROM users WHERE ${where}`, [like]),
      ]);
      return { code: 0, message: '搜索成功', users: rows.rows, total: Number(total.rows[0]?.n ?? 0) };
    },
  );

  app.get<{ Querystring: { keyword?: string; limit: number; offset: number } }>(
    `${P}/search/groups`,
    opts('GET', '/search/groups'),
    async (request) => {
      const keyword = (request.query.keyword ?? '').trim();
      if (keyword === '') return { code: 0, message: '搜索成功', groups: [], total: 0 };
      const { limit, offset } = request.query;
      const like = likeContains(keyword.toLowerCase());
      const where = `NOT g.is_deleted AND (lower(g.name) LIKE $1 ESCAPE '\\' OR lower(g.description) LIKE $1 ESCAPE '\\')`;
      const [rows, total] = await Promise.all([
        db.query<GroupRow>(
          'select',
          'groups',
          `${groupSelect} WHERE ${where}
            ORDER BY CASE WHEN lower(g.name) = $2 THEN 0 WHEN lower(g.name) LIKE $3 ESCAPE '\\' THEN 1 ELSE 2 END,
                     member_count DESC, g.name LIMIT $4 OFFSET $5`,
          [like, keyword.toLowerCase(), like.slice(1), limit, offset],
        ),
        db.query<{ n: string }>('select', 'groups', `SELECT count(*) AS n FROM groups g WHERE ${where}`, [
          like,
        ]),
      ]);
      return {
        code: 0,
        message: '搜索成功',
        groups: rows.rows.map((g) => {
          const j = groupJson(g);
          return {
            id: j.id,
            name: j.name,
            description: j.description,
            avatar: j.avatar,
            member_count: j.member_count,
          };
        }),
        total: Number(total.rows[0]?.n ?? 0),
      };
    },
  );

  return app;
}
