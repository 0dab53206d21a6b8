/**
 * WebSocket semantics of the gateway at route level (`injectWS`, no network, no Redis): heartbeat
 * timeout (4003), token expiry on an open socket (4001), slow consumers (4008), the origin check and
 * "going away" (1001) on shutdown, each with the disconnect reason it counts. Redis is a small
 * in-memory fake: pub/sub pushes are emitted on the fake subscriber as Redis would deliver them.
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { waitUntil } from '../../harness/stack/wait.ts';
import { InternalClient } from '../kit/http-client.ts';
import { Metrics } from '../kit/metrics.ts';
import { RedisMetrics } from '../kit/redis.ts';
import { counterValue, FakeRedis, GATEWAY_TEST_SETTINGS } from '../test-support.ts';
import { buildApp, type GatewayDeps } from './app.ts';
import { signToken } from './jwt.ts';
import { CLOSE } from './ws-hub.ts';

const SECRET = 'ws-route-test-secret-0123456789abcdef';
const DEADLINE = 20_000;

interface Gateway {
  app: FastifyInstance;
  metrics: Metrics;
  subscriber: FakeRedis;
  disconnects(reason: string): Promise<number>;
}

const apps: FastifyInstance[] = [];

async function gateway(overrides: Partial<GatewayDeps> = {}): Promise<Gateway> {
  const metrics = new Metrics('gateway');
  const redis = new FakeRedis();
  const subscriber = new FakeRedis();
  const app = buildApp({
    metrics,
    redis: redis as unknown as Redis,
    subscriber: subscriber as unknown as Redis,
    redisMetrics: new RedisMetrics(metrics),
    // Never called by /ws; no connection is made until a call.
    userService: new InternalClient('user-service', 'http://127.0.0.1:9', metrics),
    messageService: new InternalClient('message-service', 'http://127.0.0.1:9', metrics),
    jwtSecret: SECRET,
    ...GATEWAY_TEST_SETTINGS,
    wsAllowedOrigins: ['https://chat.example'],
    ...overrides,
  });
  apps.push(app);
  await app.ready();
  return {
    app,
    metrics,
    subscriber,
    disconnects: (reason) => counterValue(metrics, 'chatim_websocket_disconnects_total', { reason }),
  };
}

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

interface Opened {
  ws: WebSocket;
  frames: string[];
  pings: number;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens /ws through injectWS with a bearer token (or a `?token=`), recording frames, pings and the close. */
async function open(
  gw: Gateway,
  token: string,
  opts: { origin?: string; viaQuery?: boolean; answerPings?: boolean } = {},
): Promise<Opened> {
  const o = { frames: [] as string[], pings: 0 } as Opened;
  let closed!: (v: { code: number; reason: string }) => void;
  o.closed = new Promise((resolve) => {
    closed = resolve;
  });
  o.ws = await gw.app.injectWS(
    opts.viaQuery ? `/ws?token=${token}` : '/ws',
    {
      headers: {
        ...(opts.viaQuery ? {} : { authorization: `Bearer ${token}` }),
        ...(opts.origin ? { origin: opts.origin } : {}),
      },
    },
    {
      onInit: (ws) => {
        ws.on('message', (d) => o.frames.push(d.toString()));
        // injectWS builds its client without ws's automatic pong: answer like a browser would,
        // unless this is the client that went silent.
        ws.on('ping', (data) => {
          o.pings++;
          if (opts.answerPings !== false) ws.pong(data);
        });
        ws.on('close', (code, reason) => closed({ code, reason: reason.toString() }));
      },
    },
  );
  return o;
}

const token = (userId: string, ttlSeconds = 3600) => signToken(userId, SECRET, ttlSeconds).token;

describe('GET /ws (injectWS)', () => {
  it('authenticates by header or ?token=, says welcome, and keeps several sockets per user', async () => {
    const gw = await gateway();
    const a = await open(gw, token('u1'));
    const b = await open(gw, token('u1'), { viaQuery: true });
    await waitUntil(async () => a.frames.length > 0 && b.frames.length > 0, {
      what: 'welcome frames',
      timeoutMs: DEADLINE,
    });
    expect(JSON.parse(a.frames[0]!)).toMatchObject({ type: 'welcome', user_id: 'u1' });
    gw.subscriber.push('u1', '{"type":"private","id":"m1"}');
    await waitUntil(async () => a.frames.length === 2 && b.frames.length === 2, {
      what: 'the push on both sockets',
      timeoutMs: DEADLINE,
    });
    await expect(gw.app.injectWS('/ws')).rejects.toThrow(/401/);
    await expect(gw.app.injectWS('/ws?token=abc.def.ghi')).rejects.toThrow(/401/);
  });

  it('never writes a ?token= to the log, accepted or refused; the /ws path is still logged', async () => {
    const lines: string[] = [];
    const gw = await gateway({ logLevel: 'info', logStream: { write: (line) => lines.push(line) } });
    const t = token('logged');
    const o = await open(gw, t, { viaQuery: true });
    await waitUntil(async () => o.frames.length > 0, { what: 'welcome', timeoutMs: DEADLINE });
    await expect(gw.app.injectWS(`/ws?token=${t}x`)).rejects.toThrow(/401/);
    await waitUntil(async () => lines.filter((l) => l.includes('/ws')).length >= 2, {
      what: 'both upgrades logged',
      timeoutMs: DEADLINE,
    });
    expect(lines.join('\n')).not.toContain(t);
    expect(lines.join('\n')).not.toContain('token=');
  });

  it('closes a socket that stops answering pings with 4003, and counts heartbeat_timeout', async () => {
    const gw = await gateway({ wsPingIntervalMs: 100 });
    const live = await open(gw, token('alive'));
    const dead = await open(gw, token('dead'), { answerPings: false });
    expect(await dead.closed).toEqual({
      code: CLOSE.heartbeatTimeout.code,
      reason: CLOSE.heartbeatTimeout.reason,
    });
    expect(dead.pings).toBeGreaterThan(0); // it was pinged, and said nothing
    await waitUntil(async () => (await gw.disconnects('heartbeat_timeout')) === 1, {
      what: 'heartbeat_timeout counted',
      timeoutMs: DEADLINE,
    });
    // Control: the client that answers stays open across several more heartbeats.
    const seen = live.pings;
    await waitUntil(async () => live.pings >= seen + 3, { what: 'three more pings', timeoutMs: DEADLINE });
    expect(live.ws.readyState).toBe(live.ws.OPEN);
    expect(await gw.disconnects('heartbeat_timeout')).toBe(1);
  });

  it('closes a socket whose token expires with 4001', async () => {
    // (The token_expired count is checked on the real stack: injectWS's in-memory transport never
    // reports the server side closed after a clean close handshake.)
    const gw = await gateway();
    const longLived = await open(gw, token('u2'));
    const shortLived = await open(gw, token('u2', 1));
    expect(await shortLived.closed).toEqual({
      code: CLOSE.tokenExpired.code,
      reason: CLOSE.tokenExpired.reason,
    });
    // Control: the same user's socket with a valid token is untouched and still gets pushes.
    gw.subscriber.push('u2', '{"type":"private","id":"after-expiry"}');
    await waitUntil(async () => longLived.frames.some((f) => f.includes('after-expiry')), {
      what: 'a push to the socket with a valid token',
      timeoutMs: DEADLINE,
    });
    expect(longLived.ws.readyState).toBe(longLived.ws.OPEN);
  });

  describe('slow consumer', () => {
    const MAX = 4096;
    const FRAME = JSON.stringify({ type: 'private', content: 'x'.repeat(1000) });
    const transport = (o: Opened) =>
      (o.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;

    /** Pushes `n` frames to each user, letting the in-memory transport move between them. */
    async function pushMany(gw: Gateway, users: string[], n: number): Promise<void> {
      for (let i = 0; i < n; i++) {
        for (const u of users) gw.subscriber.push(u, FRAME);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const pushed = (gw: Gateway, status: string) =>
      counterValue(gw.metrics, 'chatim_websocket_messages_pushed_total', { status });

    it('closes a client that stops reading with 4008, queueing nothing more; a reader is untouched', async () => {
      const gw = await gateway({ wsMaxBufferedBytes: MAX });
      const reader = await open(gw, token('reader'));
      const stalled = await open(gw, token('stalled'));
      await waitUntil(async () => stalled.frames.length === 1, { what: 'welcome', timeoutMs: DEADLINE });
      transport(stalled).pause(); // the client stops reading; frames pile up on the server side
      await pushMany(gw, ['stalled', 'reader'], 200);
      expect(await pushed(gw, 'slow_consumer')).toBe(1);
      const refused = await pushed(gw, 'closing');
      expect(refused).toBeGreaterThan(100); // bounded: the rest were never queued for it
      // It reads again: it drains what was queued and learns why it was closed.
      transport(stalled).resume();
      expect(await stalled.closed).toEqual({
        code: CLOSE.slowConsumer.code,
        reason: CLOSE.slowConsumer.reason,
      });
      expect(stalled.frames.length - 1).toBe(200 - 1 - refused); // every frame before the 4008, none after
      await waitUntil(async () => reader.frames.length === 201, { what: '200 pushes', timeoutMs: DEADLINE });
      expect(reader.ws.readyState).toBe(reader.ws.OPEN);
      expect(await pushed(gw, 'sent')).toBe(200 + (200 - 1 - refused));
    });

    it('cuts a client that never reads again within one ping interval, and counts slow_consumer', async () => {
      const gw = await gateway({ wsMaxBufferedBytes: MAX, wsPingIntervalMs: 1000 });
      const stalled = await open(gw, token('stalled'));
      await waitUntil(async () => stalled.frames.length === 1, { what: 'welcome', timeoutMs: DEADLINE });
      transport(stalled).pause();
      await pushMany(gw, ['stalled'], 200);
      expect(await pushed(gw, 'slow_consumer')).toBe(1);
      await waitUntil(async () => (await gw.disconnects('slow_consumer')) === 1, {
        what: 'the slow consumer to be cut',
        timeoutMs: DEADLINE,
      });
      expect((await stalled.closed).code).toBe(1006); // cut, not a close handshake: it never read the 4008
    });

    it('closes a client that keeps pinging but never reads with 4008 instead of queueing pongs without bound', async () => {
      const gw = await gateway({ wsMaxBufferedBytes: MAX, wsPingIntervalMs: 1000 });
      const pinger = await open(gw, token('pinger'));
      await waitUntil(async () => pinger.frames.length === 1, { what: 'welcome', timeoutMs: DEADLINE });
      transport(pinger).pause(); // it stops reading, and goes on sending {"type":"ping"}
      let closed = false;
      void pinger.closed.then(() => {
        closed = true;
      });
      const deadline = Date.now() + DEADLINE;
      let pings = 0;
      while (!closed && Date.now() < deadline) {
        if (pinger.ws.readyState === pinger.ws.OPEN) {
          pinger.ws.send('{"type":"ping"}');
          pings++;
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(closed, `still open after ${pings} pings`).toBe(true);
      expect((await pinger.closed).code).toBe(1006); // cut: it never read the 4008 queued behind its pongs
      await waitUntil(async () => (await gw.disconnects('slow_consumer')) === 1, {
        what: 'slow_consumer counted',
        timeoutMs: DEADLINE,
      });
      // Its pings kept it alive for the heartbeat: only the buffer rule could stop it.
      expect(await gw.disconnects('heartbeat_timeout')).toBe(0);
    });
  });

  it('refuses the socket over the per-user cap with 4004, counted; other users and freed slots are unaffected', async () => {
    const gw = await gateway({ wsMaxSocketsPerUser: 2 });
    const [a, b] = [await open(gw, token('capped')), await open(gw, token('capped'))];
    await waitUntil(async () => a.frames.length === 1 && b.frames.length === 1, {
      what: 'two welcomes',
      timeoutMs: DEADLINE,
    });
    const over = await open(gw, token('capped'));
    let refusal: { code: number; reason: string } | undefined;
    void over.closed.then((c) => {
      refusal = c;
    });
    await waitUntil(async () => refusal !== undefined, {
      what: 'the socket over the cap closed',
      timeoutMs: DEADLINE,
    });
    expect(refusal).toEqual({ code: CLOSE.tooManySockets.code, reason: CLOSE.tooManySockets.reason });
    expect(over.frames).toEqual([]); // refused before anything was sent: no welcome
    expect(await gw.disconnects('too_many_sockets')).toBe(1);
    // The cap is per user: someone else still connects, and the two admitted sockets still get pushes.
    const other = await open(gw, token('someone-else'));
    await waitUntil(async () => other.frames.length === 1, { what: 'welcome', timeoutMs: DEADLINE });
    gw.subscriber.push('capped', '{"type":"private","id":"to-both"}');
    await waitUntil(async () => a.frames.length === 2 && b.frames.length === 2, {
      what: 'the push on both admitted sockets',
      timeoutMs: DEADLINE,
    });
    expect(await counterValue(gw.metrics, 'chatim_websocket_active_connections')).toBe(3);
    // A socket that goes away frees its slot.
    a.ws.terminate();
    await waitUntil(async () => (await gw.disconnects('client')) === 1, {
      what: 'the dropped socket removed',
      timeoutMs: DEADLINE,
    });
    const again = await open(gw, token('capped'));
    await waitUntil(async () => again.frames.length === 1, { what: 'welcome', timeoutMs: DEADLINE });
    expect(await gw.disconnects('too_many_sockets')).toBe(1);
  });

  it('accepts client frames far above the original 512-byte read limit (defect 13)', async () => {
    const gw = await gateway();
    const o = await open(gw, token('big'));
    o.ws.send(JSON.stringify({ type: 'typing', pad: 'x'.repeat(8 * 1024) }));
    o.ws.send('{"type":"ping"}');
    await waitUntil(async () => o.frames.some((f) => f.includes('"pong"')), {
      what: 'a pong after an 8 KiB frame',
      timeoutMs: DEADLINE,
    });
    expect(o.ws.readyState).toBe(o.ws.OPEN);
  });

  it('checks the Origin header before anything else', async () => {
    const gw = await gateway();
    const t = token('u3');
    await expect(open(gw, t, { origin: 'https://chat.example' })).resolves.toBeDefined();
    await expect(open(gw, t)).resolves.toBeDefined(); // no Origin: not a browser
    for (const origin of [
      'https://evil.example',
      'https://chat.example.evil',
      'null',
      'http://chat.example',
    ]) {
      await expect(open(gw, t, { origin }), origin).rejects.toThrow(/403/);
    }
    await expect(gw.app.injectWS('/ws', { headers: { origin: 'https://evil.example' } })).rejects.toThrow(
      /403/,
    );
    // Empty list: only clients that send no Origin.
    const strict = await gateway({ wsAllowedOrigins: [] });
    await expect(open(strict, t)).resolves.toBeDefined();
    await expect(open(strict, t, { origin: 'https://chat.example' })).rejects.toThrow(/403/);
  });

  it('closes every socket with 1001 going away on shutdown', async () => {
    // (Counted as reason "shutdown" and checked end to end with SIGTERM in integration.test.ts.)
    const gw = await gateway();
    const sockets = await Promise.all([open(gw, token('u4')), open(gw, token('u4')), open(gw, token('u5'))]);
    await gw.app.close();
    for (const s of sockets)
      expect(await s.closed).toEqual({ code: CLOSE.goingAway.code, reason: CLOSE.goingAway.reason });
  });
});
