/**
 * The gateway's WebSocket hub: several sockets per user, push frames from Redis pub/sub forwarded
 * as is (no parse), ping/pong heartbeat, close on token expiry, slow consumers disconnected (4008)
 * instead of buffering without bound (push frames and pong replies alike), at most
 * `maxSocketsPerUser` sockets per user (the next one is closed at once with 4004), "going away"
 * (1001) on shutdown.
 */
import type { Redis } from 'ioredis';
import type { WebSocket } from 'ws';
import type { Faults } from '../kit/faults.ts';
import { KEYS } from '../kit/keys.ts';
import { counterChildren, type Metrics } from '../kit/metrics.ts';
import type { RedisMetrics } from '../kit/redis.ts';

export const CLOSE = {
  goingAway: { code: 1001, reason: 'going away' },
  tokenExpired: { code: 4001, reason: 'token expired' },
  loggedOut: { code: 4002, reason: 'logged out' },
  heartbeatTimeout: { code: 4003, reason: 'heartbeat timeout' },
  tooManySockets: { code: 4004, reason: 'too many sockets' },
  slowConsumer: { code: 4008, reason: 'slow consumer' },
} as const;

type Reason =
  | 'client'
  | 'heartbeat_timeout'
  | 'slow_consumer'
  | 'token_expired'
  | 'logged_out'
  | 'too_many_sockets'
  | 'shutdown'
  | 'error';

interface Conn {
  readonly socket: WebSocket;
  readonly userId: string;
  readonly jti: string;
  readonly openedAt: number;
  alive: boolean;
  reason: Reason | undefined;
  expiry: NodeJS.Timeout;
  /** Cuts a peer that did not complete the close handshake in time (slow consumer, heartbeat timeout). */
  cutoff?: NodeJS.Timeout;
}

export interface HubOptions {
  readonly metrics: Metrics;
  readonly faults?: Faults | undefined;
  readonly redis: Redis;
  readonly redisMetrics: RedisMetrics;
  readonly pingIntervalMs: number;
  readonly maxBufferedBytes: number;
  /** Sockets one user may hold here; each socket costs buffers and timers, so a client may not open them without end. */
  readonly maxSocketsPerUser: number;
}

export class WsHub {
  readonly #users = new Map<string, Set<Conn>>();
  readonly #bySocket = new Map<WebSocket, Conn>();
  readonly #pushed;
  readonly #disconnects;
  readonly #lifetime;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly o: HubOptions) {
    const m = o.metrics;
    this.#pushed = counterChildren(m.get('chatim_websocket_messages_pushed_total'), ['type', 'status']);
    this.#disconnects = counterChildren(m.get('chatim_websocket_disconnects_total'), ['reason']);
    this.#lifetime = m.get('chatim_websocket_connection_duration_seconds');
    m.onCollect('chatim_websocket_active_connections', (g) => g.set(this.#bySocket.size));
    m.onCollect('chatim_online_users', (g) => g.set(this.#users.size));
  }

  get connections(): number {
    return this.#bySocket.size;
  }

  start(): void {
    this.#heartbeat = setInterval(() => this.#beat(), this.o.pingIntervalMs);
    this.#heartbeat.unref();
  }

  add(socket: WebSocket, userId: string, jti: string, expMs: number): void {
    if ((this.#users.get(userId)?.size ?? 0) >= this.o.maxSocketsPerUser) {
      // Refused before it is registered: no welcome, no timers, not online, not in the gauges.
      // Sockets still closing count against the cap: their buffers are not freed yet.
      socket.on('error', () => {});
      this.#disconnects.get('too_many_sockets').inc();
      socket.close(CLOSE.tooManySockets.code, CLOSE.tooManySockets.reason);
      return;
    }
    const delay = Math.max(0, Math.min(expMs - Date.now(), 2 ** 31 - 1));
    const conn: Conn = {
      socket,
      userId,
      jti,
      openedAt: Date.now(),
      alive: true,
      reason: undefined,
      expiry: setTimeout(() => this.#close(conn, 'token_expired', CLOSE.tokenExpired), delay),
    };
    conn.expiry.unref();
    this.#bySocket.set(socket, conn);
    let set = this.#users.get(userId);
    const first = !set;
    if (!set) {
      set = new Set();
      this.#users.set(userId, set);
    }
    set.add(conn);
    if (first) this.#markOnline([userId]);
    socket.on('pong', () => {
      conn.alive = true;
    });
    socket.on('message', (data, isBinary) => {
      conn.alive = true;
      if (isBinary) return;
      const text = data.toString();
      if (text === '{"type":"ping"}') this.#pong(conn);
    });
    socket.on('error', () => {
      conn.reason ??= 'error';
    });
    socket.on('close', () => this.#remove(conn));
    socket.send(JSON.stringify({ type: 'welcome', user_id: userId, server_time: Date.now() }));
  }

  /** A pub/sub notification `type|userId|frame`: forwards the frame to every socket of the user. */
  deliver(payload: string): void {
    const a = payload.indexOf('|');
    const b = payload.indexOf('|', a + 1);
    if (a < 0 || b < 0) return;
    const type = payload.slice(0, a) === 'group' ? 'group' : 'private';
    const set = this.#users.get(payload.slice(a + 1, b));
    if (!set) {
      this.#pushed.get(type, 'no_socket').inc();
      return;
    }
    const frame = payload.slice(b + 1);
    for (const conn of set) {
      if (conn.reason !== undefined) {
        // Closing (e.g. a slow consumer waiting for its close frame to drain): nothing more is queued.
        this.#pushed.get(type, 'closing').inc();
        continue;
      }
      if (this.o.faults?.dropPush()) {
        this.#pushed.get(type, 'dropped').inc();
        continue;
      }
      if (conn.socket.bufferedAmount > this.o.maxBufferedBytes) {
        this.#pushed.get(type, 'slow_consumer').inc();
        this.#close(conn, 'slow_consumer', CLOSE.slowConsumer);
        continue;
      }
      conn.socket.send(frame);
      this.#pushed.get(type, 'sent').inc();
    }
  }

  /**
   * Answers an application ping, under the same rule as deliver(): a client that keeps pinging but
   * never reads would otherwise make us queue pongs without bound (and its pings keep it "alive"
   * for the heartbeat, so nothing else would ever close it).
   */
  #pong(conn: Conn): void {
    if (conn.reason !== undefined) return; // closing: nothing more is queued
    if (conn.socket.bufferedAmount > this.o.maxBufferedBytes) {
      this.#close(conn, 'slow_consumer', CLOSE.slowConsumer);
      return;
    }
    conn.socket.send(`{"type":"pong","server_time":${Date.now()}}`);
  }

  /** Closes every socket opened with token `jti` (logout). */
  closeToken(userId: string, jti: string): void {
    for (const conn of this.#users.get(userId) ?? []) {
      if (conn.jti === jti) this.#close(conn, 'logged_out', CLOSE.loggedOut);
    }
  }

  /** Shutdown: every socket gets 1001 "going away". */
  closeAll(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    for (const conn of this.#bySocket.values()) this.#close(conn, 'shutdown', CLOSE.goingAway);
  }

  #close(conn: Conn, reason: Reason, close: { code: number; reason: string }): void {
    conn.reason ??= reason;
    if ((reason === 'slow_consumer' || reason === 'heartbeat_timeout') && !conn.cutoff) {
      // The peer is not reading or not answering: the close frame queues behind its backlog, and ws
      // arms its own close timeout only once that frame is flushed. Queue nothing more (deliver()
      // skips closing sockets), let a merely slow reader drain up to the close code, and cut the
      // connection if the handshake is not done within one ping interval: the buffer stays bounded.
      conn.cutoff = setTimeout(() => conn.socket.terminate(), this.o.pingIntervalMs);
      conn.cutoff.unref();
    }
    conn.socket.close(close.code, close.reason);
  }

  #remove(conn: Conn): void {
    if (!this.#bySocket.delete(conn.socket)) return;
    clearTimeout(conn.expiry);
    clearTimeout(conn.cutoff);
    this.#disconnects.get(conn.reason ?? 'client').inc();
    this.#lifetime.observe((Date.now() - conn.openedAt) / 1000);
    const set = this.#users.get(conn.userId);
    if (!set) return;
    set.delete(conn);
    if (set.size === 0) {
      this.#users.delete(conn.userId);
      void this.o.redisMetrics
        .timed('online_clear', () => this.o.redis.del(KEYS.online(conn.userId)))
        .catch(() => {});
    }
  }

  #beat(): void {
    for (const conn of this.#bySocket.values()) {
      if (conn.reason !== undefined) continue; // already closing
      if (!conn.alive) {
        this.#close(conn, 'heartbeat_timeout', CLOSE.heartbeatTimeout);
        continue;
      }
      conn.alive = false;
      conn.socket.ping();
    }
    this.#markOnline([...this.#users.keys()]);
  }

  /** Online = has a socket; the key outlives two missed heartbeats, so a crashed gateway's users age out. */
  #markOnline(userIds: string[]): void {
    if (userIds.length === 0) return;
    const ttl = Math.max(2, Math.ceil((this.o.pingIntervalMs * 3) / 1000));
    void this.o.redisMetrics
      .timed('online_set', async () => {
        const p = this.o.redis.pipeline();
        for (const id of userIds) p.set(KEYS.online(id), '1', 'EX', ttl);
        await p.exec();
      })
      .catch(() => {});
  }
}
