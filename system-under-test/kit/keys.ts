/**
 * Every Redis key and channel ChatIM uses, in one place (the original names where they exist).
 * Writers and readers live in different services, so the names must not be spelled twice.
 */
export const KEYS = {
  /** Stream: a user's inbox (received messages and copies of their own sends). MAXLEN-trimmed. */
  inbox: (userId: string) => `stream:private:${userId}`,
  /** Stream + consumer group `persist`: every message once, until written to PostgreSQL. */
  persistStream: 'stream:persist',
  persistGroup: 'persist',
  /** String: per-conversation sequence counter (INCR). */
  seq: (conversationKey: string) => `seq:${conversationKey}`,
  /** ZSET: a user's conversation list, member `private:<peer>`/`group:<gid>`, score ms (+1e13 if pinned). */
  conversations: (userId: string) => `conversation:list:${userId}`,
  /** HASH: conversation → messages received from others (running count). */
  received: (userId: string) => `unread:recv:${userId}`,
  /** HASH: conversation → received count at the newest message marked read. */
  readMark: (userId: string) => `unread:read:${userId}`,
  /** HASH: conversation → JSON of the newest message (for the conversation list). */
  lastMessage: (userId: string) => `conversation:last:${userId}`,
  /** String: the user's pull cursor (a stream id). */
  cursor: (userId: string) => `cursor:user:${userId}`,
  /** SET: members of a group, maintained by user-service on every membership change. */
  groupMembers: (groupId: string) => `group:members:${groupId}`,
  /** SET: a user's friends, maintained by user-service. */
  friends: (userId: string) => `friends:${userId}`,
  /** HASH: user id → display name; group id → group name (written by user-service). */
  userNames: 'names:user',
  groupNames: 'names:group',
  /** HASH: user id → avatar URL; group id → avatar URL (only non-empty ones; written by user-service). */
  userAvatars: 'avatars:user',
  groupAvatars: 'avatars:group',
  /** String with TTL: present while the user has an open WebSocket on a gateway. */
  online: (userId: string) => `online_status:${userId}`,
  /** String with TTL: a revoked token id (until the token would have expired). */
  revoked: (jti: string) => `revoked:${jti}`,
  /** Pub/sub channel: message-service → gateways. */
  notifications: 'message_notifications',
} as const;

/** Canonical conversation key of a private conversation (the same for both participants). */
export function privatePairKey(a: string, b: string): string {
  return a < b ? `private:${a}:${b}` : `private:${b}:${a}`;
}
