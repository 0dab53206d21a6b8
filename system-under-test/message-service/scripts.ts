/**
 * Lua scripts of the send and read paths. A send is ONE round trip that is atomic in Redis: the
 * per-conversation sequence number, every inbox entry (recipients and the sender copy, MAXLEN-
 * trimmed), the persist-stream entry, conversation lists, unread counters and the push
 * notifications either all happen or none does. So a 200 means "durable in Redis" (AOF), and a
 * sequence number is never burnt by a half-done send.
 *
 * Inbox entries carry `rn`: the owner's running count of messages received in that conversation
 * at that entry. Marking an entry read stores its `rn`; unread = received − read mark. Exact, O(1),
 * and it really decreases (defect 7).
 */

/** Keeps a pinned conversation pinned (score ≥ 1e13) while bumping it to now. */
const TOUCH = `
local function touch(key, member, ts, ttl)
  local s = redis.call('ZSCORE', key, member)
  local score = tonumber(ts)
  if s and tonumber(s) >= 1e13 then score = score + 1e13 end
  redis.call('ZADD', key, score, member)
  redis.call('EXPIRE', key, ttl)
end
`;

/**
 * KEYS: 1 seq, 2 persist stream, 3 recipient inbox, 4 sender inbox, 5 recipient conv list,
 *       6 sender conv list, 7 recipient received hash, 8 sender received hash,
 *       9 recipient last-message hash, 10 sender last-message hash
 * ARGV: 1 maxlen, 2 id, 3 from, 4 to, 5 content, 6 created_at ms, 7 recipient conversation id
 *       (private:<from>), 8 sender conversation id (private:<to>), 9 list ttl s, 10 channel,
 *       11 canonical pair key, 12 last-message JSON, 13 recipient push frame prefix (JSON without
 *       the closing brace)
 * Returns { seq, recipient stream id, sender stream id }.
 */
export const SEND_PRIVATE = `${TOUCH}
local seq = redis.call('INCR', KEYS[1])
local self = KEYS[3] == KEYS[4]
local rn = redis.call('HINCRBY', KEYS[7], ARGV[7], 1)
local rid = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[1], '*',
  'id', ARGV[2], 'type', 'private', 'from_user_id', ARGV[3], 'to_user_id', ARGV[4], 'content', ARGV[5],
  'created_at', ARGV[6], 'seq', seq, 'conversation_id', ARGV[7], 'rn', rn)
local sid = rid
if not self then
  local sn = tonumber(redis.call('HGET', KEYS[8], ARGV[8]) or '0')
  sid = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[1], '*',
    'id', ARGV[2], 'type', 'private', 'from_user_id', ARGV[3], 'to_user_id', ARGV[4], 'content', ARGV[5],
    'created_at', ARGV[6], 'seq', seq, 'conversation_id', ARGV[8], 'rn', sn)
end
redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'type', 'private', 'from_user_id', ARGV[3],
  'to_user_id', ARGV[4], 'group_id', '', 'content', ARGV[5], 'created_at', ARGV[6], 'seq', seq,
  'conversation_key', ARGV[11])
touch(KEYS[5], ARGV[7], ARGV[6], ARGV[9])
redis.call('HSET', KEYS[9], ARGV[7], ARGV[12])
if not self then
  touch(KEYS[6], ARGV[8], ARGV[6], ARGV[9])
  redis.call('HSET', KEYS[10], ARGV[8], ARGV[12])
end
redis.call('PUBLISH', ARGV[10], 'private|' .. ARGV[4] .. '|' .. ARGV[13] .. ',"seq":' .. seq .. ',"stream_id":"' .. rid .. '"}')
return { seq, rid, sid }
`;

/**
 * KEYS: 1 seq, 2 persist stream, then per member i (in ARGV order) 4 keys: inbox, conv list,
 *       received hash, last-message hash
 * ARGV: 1 maxlen, 2 id, 3 from, 4 group id, 5 content, 6 created_at ms, 7 conversation id
 *       (group:<gid>), 8 list ttl s, 9 channel, 10 last-message JSON, 11 push frame prefix,
 *       12.. member ids
 * Returns { seq, sender stream id }.
 */
export const SEND_GROUP = `${TOUCH}
local seq = redis.call('INCR', KEYS[1])
local conv = ARGV[7]
local sid = ''
for i = 12, #ARGV do
  local member = ARGV[i]
  local base = 2 + (i - 12) * 4
  local inbox, list, recv, last = KEYS[base + 1], KEYS[base + 2], KEYS[base + 3], KEYS[base + 4]
  local rn
  if member == ARGV[3] then
    rn = tonumber(redis.call('HGET', recv, conv) or '0')
  else
    rn = redis.call('HINCRBY', recv, conv, 1)
  end
  local eid = redis.call('XADD', inbox, 'MAXLEN', '~', ARGV[1], '*',
    'id', ARGV[2], 'type', 'group', 'from_user_id', ARGV[3], 'group_id', ARGV[4], 'content', ARGV[5],
    'created_at', ARGV[6], 'seq', seq, 'conversation_id', conv, 'rn', rn)
  touch(list, conv, ARGV[6], ARGV[8])
  redis.call('HSET', last, conv, ARGV[10])
  if member == ARGV[3] then
    sid = eid
  else
    redis.call('PUBLISH', ARGV[9], 'group|' .. member .. '|' .. ARGV[11] .. ',"seq":' .. seq .. ',"stream_id":"' .. eid .. '"}')
  end
end
redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'type', 'group', 'from_user_id', ARGV[3],
  'to_user_id', '', 'group_id', ARGV[4], 'content', ARGV[5], 'created_at', ARGV[6], 'seq', seq,
  'conversation_key', conv)
return { seq, sid }
`;

/**
 * KEYS: 1 read-mark hash, 2 received hash. ARGV: 1 conversation id, 2 rn of the entry read.
 * Raises the read mark (never lowers it) and returns the conversation's unread count.
 */
export const MARK_READ = `
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local rn = tonumber(ARGV[2])
if rn > cur then
  redis.call('HSET', KEYS[1], ARGV[1], rn)
  cur = rn
end
local recv = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local unread = recv - cur
if unread < 0 then unread = 0 end
return unread
`;

/**
 * KEYS: 1 cursor key. ARGV: 1 stream id. Sets the cursor only if the id is greater, comparing
 * stream ids as (ms, seq) numbers, not strings (defect 8). Returns the stored cursor.
 */
export const ADVANCE_CURSOR = `
local function parse(id)
  local ms, sq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(sq)
end
local cur = redis.call('GET', KEYS[1])
if cur then
  local cm, cs = parse(cur)
  local nm, ns = parse(ARGV[1])
  if nm < cm or (nm == cm and ns <= cs) then return cur end
end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`;

/**
 * KEYS: 1 conversation list. ARGV: 1 member, 2 "pin" | "unpin".
 * Returns 1 when done, 0 when the conversation is not in the list.
 */
export const PIN = `
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s then return 0 end
s = tonumber(s)
if ARGV[2] == 'pin' and s < 1e13 then redis.call('ZADD', KEYS[1], s + 1e13, ARGV[1]) end
if ARGV[2] == 'unpin' and s >= 1e13 then redis.call('ZADD', KEYS[1], s - 1e13, ARGV[1]) end
return 1
`;
