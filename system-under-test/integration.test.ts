/**
 * The three services on the real stack (Redis and PostgreSQL through Toxiproxy): a full chat flow,
 * isolation and membership, the bad-input table, durability (PostgreSQL down, Redis restart),
 * debug port, every declared metric sampled, graceful shutdown. One stack for the whole file.
 */

import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreComponents } from '../harness/stack/native/core-components.ts';
import { NativeStackRuntime } from '../harness/stack/native/runtime.ts';
import { SUT_JOBS, sutComponents } from '../harness/stack/native/sut-components.ts';
import type { StartedStack } from '../harness/stack/types.ts';
import { waitUntil } from '../harness/stack/wait.ts';
import { signToken } from './gateway/jwt.ts';
import { ERRORS } from './kit/errors.ts';
import { METRICS, type MetricName } from './kit/metrics.ts';
import {
  apiHelpers,
  DEADLINE,
  type J,
  metricsText as metricsOf,
  type Res,
  sampleValue,
  type User,
  WsClient,
} from './test-support.ts';

const DEBUG_TOKEN = 'integration-debug-token-0123456789';
const JWT_SECRET = 'integration-jwt-secret-0123456789abcdef';
/** Small enough for the trimming test to reach, far above any other test's inbox. */
const STREAM_MAXLEN = 100;

let stack: StartedStack;
let gw: string;

const { call, ok, newUser, befriend } = apiHelpers(() => gw);
const metricsText = (service: string) => metricsOf(stack, service);

async function debug(service: string, method: string, path: string, body?: unknown, token = DEBUG_TOKEN) {
  const port = stack.component(service).ports.debug;
  return fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

beforeAll(async () => {
  stack = await new NativeStackRuntime(() => [
    ...coreComponents(),
    ...sutComponents({
      debugToken: DEBUG_TOKEN,
      jwtSecret: JWT_SECRET,
      env: {
        // A deterministic limit: 40 sends per user, then (practically) no refill.
        gateway: {
          CHATIM_RATE_LIMIT_PER_SECOND: '0.0001',
          CHATIM_RATE_LIMIT_BURST: '40',
          CHATIM_WS_PING_INTERVAL_MS: '2000',
        },
        'message-service': {
          CHATIM_PERSIST_RECLAIM_IDLE_MS: '1000',
          CHATIM_STREAM_MAXLEN: String(STREAM_MAXLEN),
        },
      },
    }),
  ]).start({ readyTimeoutMs: 60_000 });
  gw = `http://127.0.0.1:${stack.component('gateway').ports.main}`;
});

afterAll(async () => {
  await stack?.stop();
});

/** A group owned by `owner` with `members`; returns its id. */
async function groupOf(owner: User, members: User[], name = 'g'): Promise<string> {
  return (
    await ok('POST', '/api/v1/groups', {
      token: owner.token,
      body: { name, description: '', member_ids: members.map((m) => m.id) },
    })
  ).group_id;
}

/** Message ids of everything `u` can pull from the start of the inbox (all pages). */
async function inboxIds(u: User): Promise<string[]> {
  const ids: string[] = [];
  let from = '0-0';
  for (;;) {
    const p = await ok('GET', `/api/v1/messages?limit=100&from_stream_id=${from}`, { token: u.token });
    ids.push(...p.conversations.flatMap((c: J) => c.messages.map((m: J) => m.id)));
    from = p.next_stream_id;
    if (!p.has_more) return ids;
  }
}

const sendGroup = async (from: User, gid: string, content: string): Promise<string> =>
  (await ok('POST', '/api/v1/groups/messages', { token: from.token, body: { group_id: gid, content } })).msg
    .id;

// Before the main flow: that block ends by stopping the gateway. Each test here has its own users.
describe('§8 defects stay fixed (chatim-surface.md; docs/defects.md)', () => {
  it('defect 4: an admin can neither kick nor replace the owner; a friend request is handled once', async () => {
    const [owner, admin, member, x] = await Promise.all([
      newUser('owner'),
      newUser('admin'),
      newUser('member'),
      newUser('x'),
    ]);
    const gid = await groupOf(owner, [admin, member]);
    await ok('POST', `/api/v1/groups/${gid}/admin`, {
      token: owner.token,
      body: { user_id: admin.id, is_admin: true },
    });
    expect(
      await call('DELETE', `/api/v1/groups/${gid}/members`, {
        token: admin.token,
        body: { user_ids: [owner.id] },
      }),
    ).toMatchObject({ status: 403, body: { code: ERRORS.NOT_GROUP_OWNER.code } });
    expect(
      await call('POST', `/api/v1/groups/${gid}/transfer`, {
        token: admin.token,
        body: { new_owner_id: member.id },
      }),
    ).toMatchObject({ status: 403, body: { code: ERRORS.NOT_GROUP_OWNER.code } });
    const info = await ok('GET', `/api/v1/groups/${gid}`, { token: member.token });
    expect(info.group.owner_id).toBe(owner.id);
    // Control: an admin does remove a plain member.
    await ok('DELETE', `/api/v1/groups/${gid}/members`, {
      token: admin.token,
      body: { user_ids: [member.id] },
    });

    const req = await ok('POST', '/api/v1/friends/requests', {
      token: x.token,
      body: { to_user_id: owner.id },
    });
    await ok('POST', '/api/v1/friends/requests/handle', {
      token: owner.token,
      body: { request_id: req.request_id, accept: true },
    });
    expect(
      await call('POST', '/api/v1/friends/requests/handle', {
        token: owner.token,
        body: { request_id: req.request_id, accept: false },
      }),
    ).toMatchObject({ status: 409, body: { code: ERRORS.REQUEST_ALREADY_HANDLED.code } });
    expect((await ok('GET', '/api/v1/friends', { token: x.token })).data.map((f: J) => f.user_id)).toEqual([
      owner.id,
    ]);
  });

  it('defect 5: pull fills id, to_user_id and group_id, counts only others’ messages, honours include_read and auto_mark', async () => {
    const [u, v] = await Promise.all([newUser('u'), newUser('v')]);
    await befriend(u, v);
    const send = async (content: string) =>
      (await ok('POST', '/api/v1/messages/send', { token: u.token, body: { to_user_id: v.id, content } }))
        .msg;
    const [m1, m2] = [await send('one'), await send('two')];
    const gid = await groupOf(u, [v], 'pullers');
    const g1 = await sendGroup(u, gid, 'to the group');

    const pull = await ok('GET', '/api/v1/messages', { token: v.token });
    const priv = pull.conversations.find((c: J) => c.conversation_id === `private:${u.id}`);
    expect(priv.messages.map((m: J) => [m.id, m.to_user_id, m.group_id])).toEqual([
      [m1.id, v.id, ''],
      [m2.id, v.id, ''],
    ]);
    const grp = pull.conversations.find((c: J) => c.conversation_id === `group:${gid}`);
    expect(grp).toMatchObject({ peer_name: 'pullers', unread_count: 1 }); // defect 9: names resolved
    expect(grp.messages.map((m: J) => [m.id, m.group_id])).toEqual([[g1, gid]]);
    expect(pull.total_unread).toBe(3);

    // The sender's own copies are never unread, and include_read=false hides them.
    const mine = await ok('GET', '/api/v1/messages', { token: u.token });
    expect(mine.total_unread).toBe(0);
    expect(mine.conversations.every((c: J) => c.unread_count === 0)).toBe(true);
    expect(mine.conversations.flatMap((c: J) => c.messages).every((m: J) => m.is_read)).toBe(true);
    expect(
      (await ok('GET', '/api/v1/messages?include_read=false', { token: u.token })).conversations,
    ).toEqual([]);

    await ok('POST', '/api/v1/messages/read', { token: v.token, body: { message_id: m1.id } });
    const unreadOnly = await ok('GET', '/api/v1/messages?include_read=false', { token: v.token });
    expect(unreadOnly.conversations.flatMap((c: J) => c.messages.map((m: J) => m.id)).sort()).toEqual(
      [m2.id, g1].sort(),
    );

    // auto_mark moves the cursor past what was returned: the next pull from the cursor is empty.
    const marked = await ok('GET', '/api/v1/messages?auto_mark=true', { token: v.token });
    expect(marked.cursor).toBe(marked.next_stream_id);
    expect((await ok('GET', '/api/v1/messages', { token: v.token })).conversations).toEqual([]);
  });

  it('defect 7: the conversation list reports the list size as total, pages with has_more, refuses limit 0', async () => {
    const [me, ...peers] = await Promise.all([
      newUser('lister'),
      newUser('p1'),
      newUser('p2'),
      newUser('p3'),
    ]);
    for (const p of peers)
      await ok('POST', '/api/v1/conversations', {
        token: me.token,
        body: { conversation_id: `private:${p.id}` },
      });
    const first = await ok('GET', '/api/v1/conversations?limit=2', { token: me.token });
    expect([first.conversations.length, first.total, first.has_more]).toEqual([2, 3, true]);
    const rest = await ok('GET', '/api/v1/conversations?limit=2&offset=2', { token: me.token });
    expect([rest.conversations.length, rest.total, rest.has_more]).toEqual([1, 3, false]);
    expect(await call('GET', '/api/v1/conversations?limit=0', { token: me.token })).toMatchObject({
      status: 400,
      body: { code: ERRORS.VALIDATION_FAILED.code },
    });
  });

  it('defect 8: the cursor only moves forward in stream-id order (not string order), and a refused request moves nothing', async () => {
    const w = await newUser('w');
    const advance = async (id: string) =>
      (await ok('POST', '/api/v1/messages/cursor', { token: w.token, body: { last_seen_stream_id: id } }))
        .cursor;
    // Each pair is "greater" numerically but not as strings, or the other way round.
    expect(await advance('9-0')).toBe('9-0');
    expect(await advance('10-0')).toBe('10-0');
    expect(await advance('10-9')).toBe('10-9');
    expect(await advance('10-10')).toBe('10-10');
    expect(await advance('10-9')).toBe('10-10');
    expect(await advance('9-99')).toBe('10-10');
    expect(
      await call('POST', '/api/v1/messages/cursor', {
        token: w.token,
        body: { last_seen_stream_id: '99-0', conversation_type: 'group', peer_id: randomUUID() },
      }),
    ).toMatchObject({ status: 404, body: { code: ERRORS.MESSAGE_NOT_FOUND.code } });
    expect(
      await call('POST', '/api/v1/messages/cursor', {
        token: w.token,
        body: { last_seen_stream_id: '99-0', conversation_type: 'group' },
      }),
    ).toMatchObject({ status: 400, body: { code: ERRORS.VALIDATION_FAILED.code } });
    expect(await advance('10-10')).toBe('10-10'); // still where it was
  });

  it('defect 9: pull and the conversation list carry the peer’s and the group’s name and avatar', async () => {
    const [u, v] = await Promise.all([newUser('pictured'), newUser('viewer')]);
    await befriend(u, v);
    await ok('PUT', '/api/v1/users/me', { token: u.token, body: { avatar: 'https://img.example/u.png' } });
    const gid = await groupOf(u, [v], 'painters');
    await ok('PUT', `/api/v1/groups/${gid}/info`, {
      token: u.token,
      body: { avatar: 'https://img.example/g.png' },
    });
    await ok('POST', '/api/v1/messages/send', { token: u.token, body: { to_user_id: v.id, content: 'hi' } });
    await sendGroup(u, gid, 'hi all');
    const want = {
      [`private:${u.id}`]: ['pictured', 'https://img.example/u.png'],
      [`group:${gid}`]: ['painters', 'https://img.example/g.png'],
    };
    const pull = await ok('GET', '/api/v1/messages', { token: v.token });
    expect(
      Object.fromEntries(pull.conversations.map((c: J) => [c.conversation_id, [c.peer_name, c.peer_avatar]])),
    ).toEqual(want);
    const list = await ok('GET', '/api/v1/conversations', { token: v.token });
    expect(
      Object.fromEntries(list.conversations.map((c: J) => [c.conversation_id, [c.title, c.avatar]])),
    ).toEqual(want);
  });

  it('defect 10: group, member and join-request times are real Unix seconds', async () => {
    const t0 = Math.floor(Date.now() / 1000) - 60;
    const [o, j] = await Promise.all([newUser('timer'), newUser('joiner')]);
    const gid = await groupOf(o, []);
    const sane = (t: number) => t >= t0 && t <= Math.floor(Date.now() / 1000) + 60;
    expect(sane((await ok('GET', `/api/v1/groups/${gid}`, { token: o.token })).group.created_at)).toBe(true);
    expect(
      (await ok('GET', '/api/v1/groups', { token: o.token })).groups.map((g: J) => sane(g.created_at)),
    ).toEqual([true]);
    expect(
      (await ok('GET', `/api/v1/groups/${gid}/members`, { token: o.token })).members.map((m: J) =>
        sane(m.joined_at),
      ),
    ).toEqual([true]);
    const req = await ok('POST', '/api/v1/groups/join-requests', { token: j.token, body: { group_id: gid } });
    await ok('POST', '/api/v1/groups/join-requests/handle', {
      token: o.token,
      body: { request_id: req.request_id, action: 2 },
    });
    const [r] = (await ok('GET', '/api/v1/groups/join-requests/my', { token: j.token })).requests;
    expect([r.status, sane(r.created_at), sane(r.processed_at)]).toEqual(['rejected', true, true]);
  });

  it('defect 11: membership changes apply to the very next group message (add, join, remove, leave, dismiss)', async () => {
    const [o, stay, added, joiner, removed, leaver] = (await Promise.all(
      ['own', 'stay', 'added', 'joiner', 'removed', 'leaver'].map((n) => newUser(n)),
    )) as [User, User, User, User, User, User];
    const gid = await groupOf(o, [stay, removed, leaver]);
    await sendGroup(o, gid, 'warm the member set');
    await ok('POST', `/api/v1/groups/${gid}/members`, { token: o.token, body: { user_ids: [added.id] } });
    const req = await ok('POST', '/api/v1/groups/join-requests', {
      token: joiner.token,
      body: { group_id: gid },
    });
    await ok('POST', '/api/v1/groups/join-requests/handle', {
      token: o.token,
      body: { request_id: req.request_id, action: 1 },
    });
    await ok('DELETE', `/api/v1/groups/${gid}/members`, { token: o.token, body: { user_ids: [removed.id] } });
    await ok('DELETE', `/api/v1/groups/${gid}`, { token: leaver.token });
    const after = await sendGroup(o, gid, 'after the changes');
    const got = async (u: User) => (await inboxIds(u)).includes(after);
    expect({
      stay: await got(stay),
      added: await got(added),
      joiner: await got(joiner),
      removed: await got(removed),
      leaver: await got(leaver),
    }).toEqual({ stay: true, added: true, joiner: true, removed: false, leaver: false });
    await ok('POST', `/api/v1/groups/${gid}/dismiss`, { token: o.token });
    expect(
      await call('POST', '/api/v1/groups/messages', {
        token: o.token,
        body: { group_id: gid, content: 'gone?' },
      }),
    ).toMatchObject({ status: 404, body: { code: ERRORS.GROUP_NOT_FOUND.code } });
  });

  it('defect 12: the path’s group id decides, not a body group_id; join-request errors are catalogued 4xx', async () => {
    const [o, m] = await Promise.all([newUser('pathowner'), newUser('pathmember')]);
    const [g1, g2] = [await groupOf(o, [m], 'one'), await groupOf(o, [m], 'two')];
    await ok('DELETE', `/api/v1/groups/${g1}/members`, {
      token: o.token,
      body: { group_id: g2, user_ids: [m.id] },
    });
    await ok('PUT', `/api/v1/groups/${g1}/info`, { token: o.token, body: { group_id: g2, name: 'renamed' } });
    const total = async (gid: string) =>
      (await ok('GET', `/api/v1/groups/${gid}/members`, { token: o.token })).total;
    expect([await total(g1), await total(g2)]).toEqual([1, 2]);
    const name = async (gid: string) =>
      (await ok('GET', `/api/v1/groups/${gid}`, { token: o.token })).group.name;
    expect([await name(g1), await name(g2)]).toEqual(['renamed', 'two']);
    expect(
      await call('POST', '/api/v1/groups/join-requests', {
        token: m.token,
        body: { group_id: randomUUID() },
      }),
    ).toMatchObject({ status: 404, body: { code: ERRORS.GROUP_NOT_FOUND.code } });
    expect(
      await call('POST', '/api/v1/groups/join-requests', { token: m.token, body: { group_id: g2 } }),
    ).toMatchObject({ status: 409, body: { code: ERRORS.ALREADY_MEMBER.code } });
  });

  it('defect 14: inbox streams are trimmed to CHATIM_STREAM_MAXLEN; the newest entries stay', async () => {
    // Six members send 35 group messages each (within the rate limit): 210 entries per inbox, more
    // than 2 × MAXLEN, so trimming shows whatever the size of Redis's stream nodes (≤ 100 entries).
    const users = await Promise.all(['t1', 't2', 't3', 't4', 't5', 't6'].map((n) => newUser(n)));
    const [first, ...others] = users as [User, ...User[]];
    const gid = await groupOf(first, others);
    let last = '';
    for (let i = 0; i < 35; i++) for (const u of users) last = await sendGroup(u, gid, `${i}`);
    const ids = await inboxIds(first);
    expect(ids.length).toBeGreaterThanOrEqual(STREAM_MAXLEN); // MAXLEN ~ trims whole nodes, never below
    expect(ids.length).toBeLessThan(210);
    expect(ids[ids.length - 1]).toBe(last);
  });

  it('defect 15: online means an open WebSocket, not a login within 24 h', async () => {
    const [u, asker] = await Promise.all([newUser('onliner'), newUser('asker')]);
    const online = async () =>
      (await ok('GET', `/api/v1/users/${u.id}/online`, { token: asker.token })).is_online as boolean;
    expect(await online()).toBe(false); // logged in, no socket
    const ws = new WsClient(gw, u.token);
    await ws.next((f) => f.type === 'welcome');
    await waitUntil(online, { what: 'online while the socket is open', timeoutMs: DEADLINE });
    ws.ws.close();
    await ws.closed;
    await waitUntil(async () => !(await online()), { what: 'offline once it closed', timeoutMs: DEADLINE });
  });
});

describe('ChatIM on the real stack', () => {
  let alice: User;
  let bob: User;
  let carol: User;
  let dave: User;
  let groupId: string;

  it('runs the whole chat flow: friends, private send with push and sequence numbers, pull, read, group, history', async () => {
    [alice, bob, carol, dave] = await Promise.all([
      newUser('alice'),
      newUser('bob'),
      newUser('carol'),
      newUser('dave'),
    ]);
    await befriend(alice, bob);
    const friends = await ok('GET', '/api/v1/friends', { token: bob.token });
    expect(friends.data.map((f: J) => f.user_id)).toEqual([alice.id]);

    const bobWs = new WsClient(gw, bob.token);
    const bobWs2 = new WsClient(gw, bob.token, { viaQuery: true }); // several sockets per user, token by query
    await bobWs.next((f) => f.type === 'welcome');
    await bobWs2.next((f) => f.type === 'welcome');

    const s1 = await ok('POST', '/api/v1/messages/send', {
      token: alice.token,
      body: { to_user_id: bob.id, content: 'hello 👋' },
    });
    const s2 = await ok('POST', '/api/v1/messages/send', {
      token: alice.token,
      body: { to_user_id: bob.id, content: 'second' },
    });
    expect([s1.msg.seq, s2.msg.seq]).toEqual([1, 2]);
    const p1 = await bobWs.next((f) => f.id === s1.msg.id);
    const p2 = await bobWs.next((f) => f.id === s2.msg.id);
    await bobWs2.next((f) => f.id === s2.msg.id);
    expect(p1).toMatchObject({
      type: 'private',
      from_user_id: alice.id,
      to_user_id: bob.id,
      content: 'hello 👋',
      seq: 1,
      conversation_id: `private:${alice.id}`,
    });
    expect(p2.seq).toBe(2);
    expect(p1.stream_id).toMatch(/^\d+-\d+$/);
    expect(p1.created_at).toBeGreaterThan(1e12); // milliseconds

    const pull = await ok('GET', '/api/v1/messages?limit=10', { token: bob.token });
    const conv = pull.conversations.find((c: J) => c.conversation_id === `private:${alice.id}`);
    expect(conv.messages.map((m: J) => m.id)).toEqual([s1.msg.id, s2.msg.id]);
    expect(conv.messages.map((m: J) => m.stream_id)).toEqual([p1.stream_id, p2.stream_id]);
    expect(conv).toMatchObject({ unread_count: 2, peer_name: 'alice' });

    // The sender's list holds the recipient, not the sender (defect 6).
    const aliceConvs = await ok('GET', '/api/v1/conversations', { token: alice.token });
    expect(aliceConvs.conversations.map((c: J) => c.conversation_id)).toEqual([`private:${bob.id}`]);
    expect(aliceConvs.conversations[0].unread_count).toBe(0); // own sends are not unread
    const bobConvs = await ok('GET', '/api/v1/conversations', { token: bob.token });
    expect(bobConvs.conversations[0]).toMatchObject({
      unread_count: 2,
      last_message: 'second',
      title: 'alice',
      is_pinned: false,
    });

    // Unread really decreases (defect 7).
    const r1 = await ok('POST', '/api/v1/messages/read', {
      token: bob.token,
      body: { message_id: s1.msg.id },
    });
    expect(r1.unread_count).toBe(1);
    const r2 = await ok('POST', '/api/v1/messages/cursor', {
      token: bob.token,
      body: { last_seen_stream_id: p2.stream_id, conversation_type: 'private', peer_id: alice.id },
    });
    expect(r2).toMatchObject({ unread_count: 0, cursor: p2.stream_id });
    const after = await ok('GET', '/api/v1/messages', { token: bob.token });
    expect(after.conversations).toEqual([]);
    expect(after.total_unread).toBe(0);

    // Pin survives a new message; unpin restores.
    await ok('POST', `/api/v1/conversations/private:${alice.id}/pin`, { token: bob.token });
    await ok('POST', '/api/v1/messages/send', {
      token: alice.token,
      body: { to_user_id: bob.id, content: 'third' },
    });
    const pinned = await ok('GET', '/api/v1/conversations', { token: bob.token });
    expect(pinned.conversations[0]).toMatchObject({ is_pinned: true, unread_count: 1 });
    await ok('DELETE', `/api/v1/conversations/private:${alice.id}/pin`, { token: bob.token });

    // Group: members get the fan-out; a non-member cannot send (defect 4).
    const g = await ok('POST', '/api/v1/groups', {
      token: alice.token,
      body: { name: 'trio', description: 'x', member_ids: [bob.id, carol.id] },
    });
    groupId = g.group_id;
    const carolWs = new WsClient(gw, carol.token);
    await carolWs.next((f) => f.type === 'welcome');
    const gs = await ok('POST', '/api/v1/groups/messages', {
      token: alice.token,
      body: { group_id: groupId, content: 'hi all' },
    });
    expect(gs.msg.seq).toBe(1);
    const gp = await carolWs.next((f) => f.id === gs.msg.id);
    expect(gp).toMatchObject({
      type: 'group',
      group_id: groupId,
      seq: 1,
      conversation_id: `group:${groupId}`,
    });
    await bobWs.next((f) => f.id === gs.msg.id);
    const denied = await call('POST', '/api/v1/groups/messages', {
      token: dave.token,
      body: { group_id: groupId, content: 'let me in' },
    });
    expect(denied).toMatchObject({ status: 403, body: { code: ERRORS.NOT_GROUP_MEMBER.code } });
    const gr = await ok('POST', `/api/v1/groups/${groupId}/read`, {
      token: carol.token,
      body: { last_read_message_id: gp.stream_id },
    });
    expect(gr.unread_count).toBe(0);

    // History from PostgreSQL once the persist worker wrote it, newest first, paged by seq.
    let history: Record<string, J> = {};
    await waitUntil(
      async () => {
        history = await ok('GET', `/api/v1/messages/history?conversation_id=private:${bob.id}&limit=2`, {
          token: alice.token,
        });
        return history.messages.length === 2;
      },
      { what: 'history in PostgreSQL', timeoutMs: DEADLINE },
    );
    expect(history.messages.map((m: J) => m.seq)).toEqual([3, 2]);
    expect(history.has_more).toBe(true);
    const older = await ok(
      'GET',
      `/api/v1/messages/history?conversation_id=private:${bob.id}&before_seq=${history.next_before_seq}`,
      {
        token: alice.token,
      },
    );
    expect(older.messages.map((m: J) => m.id)).toEqual([s1.msg.id]);
    await waitUntil(
      async () =>
        (await ok('GET', `/api/v1/messages/history?conversation_id=group:${groupId}`, { token: carol.token }))
          .messages.length === 1,
      { what: 'group history in PostgreSQL', timeoutMs: DEADLINE },
    );

    // Logout revokes the token and closes its sockets; the other socket stays.
    await ok('POST', '/api/v1/logout', { token: bob.token });
    expect((await bobWs.closed).code).toBe(4002);
    expect((await call('GET', '/api/v1/users/me', { token: bob.token })).status).toBe(401);
    bob.token = (
      await ok('POST', '/api/v1/login', { body: { username: bob.name, password: 'correct horse' } })
    ).token;
    bobWs2.ws.close();
    carolWs.ws.close();
  });

  it('keeps users apart: no one reads another pair’s messages or a group they are not in', async () => {
    const daveView = await ok('GET', `/api/v1/messages/history?conversation_id=private:${alice.id}`, {
      token: dave.token,
    });
    expect(daveView.messages).toEqual([]); // dave↔alice, not alice↔bob
    expect((await ok('GET', '/api/v1/messages', { token: dave.token })).conversations).toEqual([]);
    expect((await ok('GET', '/api/v1/conversations', { token: dave.token })).conversations).toEqual([]);
    for (const path of [
      `/api/v1/groups/${groupId}`,
      `/api/v1/groups/${groupId}/members`,
      `/api/v1/messages/history?conversation_id=group:${groupId}`,
    ]) {
      expect(await call('GET', path, { token: dave.token })).toMatchObject({
        status: 403,
        body: { code: ERRORS.NOT_GROUP_MEMBER.code },
      });
    }
    // Not friends: no private message (defect 4); unknown user: 404.
    expect(
      await call('POST', '/api/v1/messages/send', {
        token: dave.token,
        body: { to_user_id: alice.id, content: 'x' },
      }),
    ).toMatchObject({
      status: 403,
      body: { code: ERRORS.NOT_FRIENDS.code },
    });
    expect(
      await call('POST', '/api/v1/messages/send', {
        token: dave.token,
        body: { to_user_id: '00000000-0000-4000-8000-000000000000', content: 'x' },
      }),
    ).toMatchObject({ status: 404, body: { code: ERRORS.USER_NOT_FOUND.code } });
    // A member cannot be removed by a plain member; the owner cannot be kicked (defect 4).
    expect(
      await call('DELETE', `/api/v1/groups/${groupId}/members`, {
        token: carol.token,
        body: { user_ids: [alice.id] },
      }),
    ).toMatchObject({
      status: 403,
      body: { code: ERRORS.NOT_GROUP_ADMIN.code },
    });
    // A removed member stops receiving at once (defect 11: no stale member cache).
    await ok('DELETE', `/api/v1/groups/${groupId}/members`, {
      token: alice.token,
      body: { user_ids: [carol.id] },
    });
    expect(
      await call('POST', '/api/v1/groups/messages', {
        token: carol.token,
        body: { group_id: groupId, content: 'still here?' },
      }),
    ).toMatchObject({
      status: 403,
    });
    // LIKE wildcards are literal (defect 4).
    const s = await ok('GET', '/api/v1/search/users?keyword=%25', { token: dave.token });
    expect(s.users).toEqual([]);
    const found = await ok('GET', `/api/v1/search/users?keyword=${alice.name}`, { token: dave.token });
    expect(found.users.map((u: J) => u.id)).toEqual([alice.id]);
  });

  it('pull is bounded and ordered by stream id across many entries', async () => {
    const [x, y] = await Promise.all([newUser('x'), newUser('y')]);
    await befriend(x, y);
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      ids.push(
        (
          await ok('POST', '/api/v1/messages/send', {
            token: x.token,
            body: { to_user_id: y.id, content: `m${i}` },
          })
        ).msg.id,
      );
    }
    const seen: string[] = [];
    let from = '0-0';
    for (let page = 0; page < 10; page++) {
      const p = await ok('GET', `/api/v1/messages?limit=10&from_stream_id=${from}`, { token: y.token });
      const msgs = p.conversations.flatMap((c: J) => c.messages);
      expect(msgs.length).toBeLessThanOrEqual(10);
      seen.push(...msgs.map((m: J) => m.id));
      from = p.next_stream_id;
      if (!p.has_more) break;
    }
    expect(seen).toEqual(ids);
    // Limit above the cap is a 400, not an unbounded read (defect 5).
    expect((await call('GET', '/api/v1/messages?limit=100000', { token: y.token })).status).toBe(400);
  });

  it('answers bad input with catalogued 4xx, never a 5xx or a stack trace', async () => {
    const t = alice.token;
    const cases: [string, string, string, Parameters<typeof call>[2], number, number][] = [
      [
        'malformed JSON',
        'POST',
        '/api/v1/messages/send',
        { token: t, raw: '{"to_user_id":' },
        400,
        ERRORS.MALFORMED_JSON.code,
      ],
      [
        'wrong type',
        'POST',
        '/api/v1/messages/send',
        { token: t, body: { to_user_id: 42, content: 'x' } },
        400,
        ERRORS.VALIDATION_FAILED.code,
      ],
      [
        'array body',
        'POST',
        '/api/v1/messages/send',
        { token: t, body: [1, 2] },
        400,
        ERRORS.VALIDATION_FAILED.code,
      ],
      [
        'empty content',
        'POST',
        '/api/v1/messages/send',
        { token: t, body: { to_user_id: bob.id, content: '   ' } },
        400,
        ERRORS.VALIDATION_FAILED.code,
      ],
      [
        'content too long',
        'POST',
        '/api/v1/messages/send',
        { token: t, body: { to_user_id: bob.id, content: 'x'.repeat(4001) } },
        400,
        ERRORS.VALIDATION_FAILED.code,
      ],
      [
        'oversized body',
        'POST',
        '/api/v1/messages/send',
        { token: t, raw: JSON.stringify({ to_user_id: bob.id, content: 'x'.repeat(70_000) }) },
        413,
        ERRORS.BODY_TOO_LARGE.code,
      ],
      [
        'not JSON content type',
        'POST',
        '/api/v1/messages/send',
        { token: t, raw: 'hello', headers: { 'content-type': 'text/plain' } },
        415,
        ERRORS.UNSUPPORTED_MEDIA_TYPE.code,
      ],
      [
        'SQL injection in a path id',
        'GET',
        "/api/v1/users/1'%20OR%20'1'='1",
        { token: t },
        400,
        ERRORS.VALIDATION_FAILED.code,
      ],
      [
        'injection in a keyword',
        'GET',
        '/api/v1/search/users?keyword=%27%3B%20DROP%20TABLE%20users%3B--',
        { token: t },
        200,
        0,
      ],
      [
        'lone surrogate',
        'POST',
        '/api/v1/users',
        { raw: '{"username":"\\ud800x","password":"password123"}' },
        400,
        ERRORS.VALIDATION_FAILED.code,
      ],
      [
        'username with spaces',
        'POST',
        '/api/v1/users',
        { body: { username: 'a b', password: 'password123' } },
        400,
        ERRORS.VALIDATION_FAILED.code,
      ],
      [
        'duplicate username',
        'POST',
        '/api/v1/users',
        { body: { username: alice.name, password: 'password123' } },
        409,
        ERRORS.USERNAME_TAKEN.code,
      ],
      [
        'wrong password',
        'POST',
        '/api/v1/login',
        { body: { username: alice.name, password: 'nope' } },
        401,
        ERRORS.INVALID_CREDENTIALS.code,
      ],
      ['no token', 'GET', '/api/v1/users/me', {}, 401, ERRORS.AUTH_REQUIRED.code],
      [
        'not Bearer',
        'GET',
        '/api/v1/users/me',
        { headers: { authorization: `Token ${t}` } },
        401,
        ERRORS.AUTH_HEADER_MALFORMED.code,
      ],
      [
        'garbage token',
        'GET',
        '/api/v1/users/me',
        { token: 'abc.def.ghi' },
        401,
        ERRORS.AUTH_TOKEN_INVALID.code,
      ],
      [
        'alg none token',
        'GET',
        '/api/v1/users/me',
        { token: `${Buffer.from('{"alg":"none"}').toString('base64url')}.${t.split('.')[1]}.` },
        401,
        ERRORS.AUTH_TOKEN_INVALID.code,
      ],
      [
        'tampered token',
        'GET',
        '/api/v1/users/me',
        { token: `${t.slice(0, -3)}AAA` },
        401,
        ERRORS.AUTH_TOKEN_INVALID.code,
      ],
      ['token in query on REST', 'GET', `/api/v1/users/me?token=${t}`, {}, 401, ERRORS.AUTH_REQUIRED.code],
      ['unknown route', 'GET', '/api/v1/nope/1/2', {}, 404, ERRORS.ROUTE_NOT_FOUND.code],
      [
        'bad stream id',
        'GET',
        '/api/v1/messages?from_stream_id=abc',
        { token: t },
        400,
        ERRORS.VALIDATION_FAILED.code,
      ],
      [
        'bad conversation id',
        'POST',
        '/api/v1/conversations/private:../../etc/pin',
        { token: t },
        400,
        ERRORS.VALIDATION_FAILED.code,
      ],
      [
        'unpin a missing conversation',
        'DELETE',
        `/api/v1/conversations/group:${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}/pin`,
        { token: t },
        404,
        ERRORS.CONVERSATION_NOT_FOUND.code,
      ],
      [
        'negative offset',
        'GET',
        '/api/v1/groups?offset=-1',
        { token: t },
        400,
        ERRORS.VALIDATION_FAILED.code,
      ],
      [
        'friend request to self',
        'POST',
        '/api/v1/friends/requests',
        { token: t, body: { to_user_id: alice.id } },
        400,
        ERRORS.CANNOT_TARGET_SELF.code,
      ],
      [
        'handle a request twice',
        'POST',
        '/api/v1/friends/requests/handle',
        { token: t, body: { request_id: '00000000-0000-4000-8000-000000000000', accept: true } },
        404,
        ERRORS.FRIEND_REQUEST_NOT_FOUND.code,
      ],
    ];
    const failures: string[] = [];
    for (const [name, method, path, opts, status, code] of cases) {
      const r = await call(method, path, opts);
      if (r.status !== status || r.body.code !== code)
        failures.push(`${name}: got ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      if (JSON.stringify(r.body).includes(' at ')) failures.push(`${name}: looks like a stack trace`);
    }
    expect(failures).toEqual([]);
  });

  it('rate-limits sends per user with 429', async () => {
    const z = await newUser('z');
    const statuses: number[] = [];
    for (let i = 0; i < 41; i++) {
      statuses.push(
        (
          await call('POST', '/api/v1/messages/send', {
            token: z.token,
            body: { to_user_id: z.id, content: `${i}` },
          })
        ).status,
      );
    }
    expect(statuses.slice(0, 40).every((s) => s === 200)).toBe(true);
    expect(statuses[40]).toBe(429);
  });

  it('checks the WebSocket origin and token before upgrading', async () => {
    const bad = new WsClient(gw, alice.token, { origin: 'https://evil.example' });
    const err = await new Promise<string>((resolve) =>
      bad.ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode))),
    );
    expect(err).toBe('403');
    const anon = new WsClient(gw, 'not-a-token', { viaQuery: true });
    expect(
      await new Promise<string>((resolve) =>
        anon.ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode))),
      ),
    ).toBe('401');
  });

  it('closes open sockets on the wire: 4003 for a client gone silent, 4001 when the token expires, each counted', async () => {
    const disconnects = async (reason: string) =>
      sampleValue(await metricsText('gateway'), 'chatim_websocket_disconnects_total', { reason });
    const [heartbeatBefore, expiredBefore] = [
      await disconnects('heartbeat_timeout'),
      await disconnects('token_expired'),
    ];
    const silent = new WsClient(gw, alice.token, { autoPong: false });
    const answering = new WsClient(gw, alice.token);
    // A token for alice that expires a few seconds after the upgrade.
    const expiring = new WsClient(gw, signToken(alice.id, JWT_SECRET, 3).token);
    for (const c of [silent, answering, expiring]) await c.next((f) => f.type === 'welcome');
    expect(await silent.closed).toEqual({ code: 4003, reason: 'heartbeat timeout' });
    expect(await expiring.closed).toEqual({ code: 4001, reason: 'token expired' });
    await waitUntil(
      async () =>
        (await disconnects('heartbeat_timeout')) === heartbeatBefore + 1 &&
        (await disconnects('token_expired')) === expiredBefore + 1,
      { what: 'heartbeat_timeout and token_expired counted once each', timeoutMs: DEADLINE },
    );
    // Control: the client that answers pings, with a long-lived token, is still open and still served.
    expect(answering.ws.readyState).toBe(answering.ws.OPEN);
    answering.ws.send('{"type":"ping"}');
    await answering.next((f) => f.type === 'pong');
    answering.ws.close();
    await answering.closed;
  });

  it('loses no message while PostgreSQL is unreachable: all of them land once it is back', async () => {
    const [p, q] = await Promise.all([newUser('p'), newUser('q')]);
    await befriend(p, q);
    const toxi = stack.endpoints.toxiproxy.url;
    const failedBefore = sampleValue(await metricsText('message-service'), 'chatim_persist_messages_total', {
      status: 'failed',
    });
    await fetch(`${toxi}/proxies/postgres`, { method: 'POST', body: JSON.stringify({ enabled: false }) });
    try {
      for (let i = 0; i < 20; i++)
        await ok('POST', '/api/v1/messages/send', {
          token: p.token,
          body: { to_user_id: q.id, content: `pg down ${i}` },
        });
      await waitUntil(
        async () =>
          sampleValue(await metricsText('message-service'), 'chatim_persist_messages_total', {
            status: 'failed',
          }) > failedBefore,
        { what: 'the persist worker to hit the outage', timeoutMs: DEADLINE },
      );
      // The backlog gauge shows the entries held back (pending or not yet delivered to the group).
      await waitUntil(
        async () =>
          sampleValue(await metricsText('message-service'), 'chatim_redis_stream_pending_messages') > 0,
        { what: 'a persist backlog', timeoutMs: DEADLINE },
      );
    } finally {
      await fetch(`${toxi}/proxies/postgres`, { method: 'POST', body: JSON.stringify({ enabled: true }) });
    }
    await waitUntil(
      async () =>
        (
          await ok('GET', `/api/v1/messages/history?conversation_id=private:${q.id}&limit=100`, {
            token: p.token,
          })
        ).messages.length === 20,
      { what: 'all 20 messages in PostgreSQL', timeoutMs: 60_000 },
    );
  });

  it('loses no acknowledged message across a Redis restart', async () => {
    const [r, s] = await Promise.all([newUser('r'), newUser('s')]);
    await befriend(r, s);
    const acked: string[] = [];
    for (let i = 0; i < 10; i++)
      acked.push(
        (
          await ok('POST', '/api/v1/messages/send', {
            token: r.token,
            body: { to_user_id: s.id, content: `${i}` },
          })
        ).msg.id,
      );
    await stack.component('redis').restart();
    let ids: string[] = [];
    await waitUntil(
      async () => {
        const res = await call('GET', '/api/v1/messages?limit=50', { token: s.token });
        if (res.status !== 200) return false;
        ids = res.body.conversations.flatMap((c: J) => c.messages.map((m: J) => m.id));
        return true;
      },
      { what: 'pull after the Redis restart', timeoutMs: DEADLINE },
    );
    expect(ids).toEqual(acked);
    // Sends work again (scripts reloaded) and continue the sequence.
    let next: Res = { status: 0, body: {} };
    await waitUntil(
      async () => {
        next = await call('POST', '/api/v1/messages/send', {
          token: r.token,
          body: { to_user_id: s.id, content: 'after' },
        });
        return next.status === 200;
      },
      { what: 'a send after the Redis restart', timeoutMs: DEADLINE },
    );
    expect(next.body.msg.seq).toBe(11);
  });

  it('serves the OpenAPI document', async () => {
    const doc = await call('GET', '/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toContain('/api/v1/groups/{group_id}/members');
  });

  it('debug port: token required, valid pprof profiles, faults that apply and clear', async () => {
    expect(
      (await debug('gateway', 'GET', '/debug/pprof/', undefined, 'wrong-token-wrong-token')).status,
    ).toBe(401);
    for (const [path, sampleType] of [
      ['/debug/pprof/profile?seconds=1', 'wall'],
      ['/debug/pprof/heap', 'inuse_space'],
    ] as const) {
      const res = await debug('message-service', 'GET', path);
      expect(res.status).toBe(200);
      const profile = Profile.decode(gunzipSync(Buffer.from(await res.arrayBuffer())));
      const types = profile.sampleType.map((t) => profile.stringTable.strings[Number(t.type)]);
      expect(types).toContain(sampleType);
      expect(profile.sample.length).toBeGreaterThan(0);
    }
    const set = await debug('user-service', 'PUT', '/debug/faults/error?seconds=60', {
      rate: 1,
      status: 503,
      route: '/api/v1/search',
    });
    expect(set.status).toBe(200);
    expect(await call('GET', '/api/v1/search/users?keyword=a', { token: alice.token })).toMatchObject({
      status: 503,
      body: { code: ERRORS.FAULT_INJECTED.code },
    });
    expect((await call('GET', '/api/v1/users/me', { token: alice.token })).status).toBe(200); // other routes untouched
    expect(sampleValue(await metricsText('user-service'), 'chatim_fault_active', { fault: 'error' })).toBe(1);
    expect((await debug('user-service', 'DELETE', '/debug/faults/error')).status).toBe(200);
    expect((await call('GET', '/api/v1/search/users?keyword=a', { token: alice.token })).status).toBe(200);
    // push_drop on the gateway: the frame is counted as dropped instead of sent.
    await debug('gateway', 'PUT', '/debug/faults/push_drop?seconds=60', { rate: 1 });
    const bobWs = new WsClient(gw, bob.token);
    await bobWs.next((f) => f.type === 'welcome');
    const before = sampleValue(await metricsText('gateway'), 'chatim_websocket_messages_pushed_total', {
      status: 'dropped',
    });
    await ok('POST', '/api/v1/messages/send', {
      token: alice.token,
      body: { to_user_id: bob.id, content: 'dropped' },
    });
    await waitUntil(
      async () =>
        sampleValue(await metricsText('gateway'), 'chatim_websocket_messages_pushed_total', {
          status: 'dropped',
        }) > before,
      {
        what: 'a dropped push',
        timeoutMs: DEADLINE,
      },
    );
    await debug('gateway', 'DELETE', '/debug/faults');
    bobWs.ws.close();
    await bobWs.closed;
  });

  it('gives every declared metric samples on every service that declares it', async () => {
    const missing: string[] = [];
    for (const service of ['gateway', 'user-service', 'message-service'] as const) {
      const text = await metricsText(service);
      for (const [name, spec] of Object.entries(METRICS) as [MetricName, (typeof METRICS)[MetricName]][]) {
        if (!(spec.services as readonly string[]).includes(service)) continue;
        const sample = spec.type === 'histogram' ? `${name}_count` : name;
        const has = text.split('\n').some((l) => l.startsWith(`${sample}{`) || l.startsWith(`${sample} `));
        if (!has) missing.push(`${service}: ${name}`);
      }
      for (const runtime of [
        'chatim_process_cpu_seconds_total',
        'chatim_nodejs_eventloop_lag_seconds',
        'chatim_nodejs_gc_duration_seconds_count',
      ]) {
        if (!text.includes(`\n${runtime}`)) missing.push(`${service}: ${runtime}`);
      }
      // Bounded labels: no user id anywhere in the exposition.
      expect(text).not.toContain(alice.id);
    }
    expect(missing).toEqual([]);
    // Prometheus scrapes all three.
    await waitUntil(
      async () => {
        const r = (await (
          await fetch(`${stack.endpoints.prometheus.url}/api/v1/targets?state=active`)
        ).json()) as J;
        const jobs = Object.values(SUT_JOBS) as string[];
        const up = r.data.activeTargets.filter((t: J) => jobs.includes(t.labels.job) && t.health === 'up');
        return up.length === jobs.length;
      },
      { what: 'the three chatim-* targets up in Prometheus', timeoutMs: DEADLINE },
    );
  });

  it('shuts down on SIGTERM: sockets get 1001 going away, exit code 0', async () => {
    const ws = new WsClient(gw, alice.token);
    await ws.next((f) => f.type === 'welcome');
    await stack.component('gateway').stop();
    expect((await ws.closed).code).toBe(1001);
    expect(stack.component('gateway').lastExit?.code).toBe(0);
  });
});
