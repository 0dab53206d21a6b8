import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertmanagerWebhookPayload } from '../../harness/stack/alert-sink.ts';
import { buildRelay, type Relay } from './app.ts';
import { loadRelayConfig } from './config.ts';
import type { DingTalkMarkdownBody, WeComMarkdownBody } from './format.ts';
import { alert, closedPort, FakeRobot, memoryLogger, payload, resolvedAlert } from './test-support.ts';

/**
 * The relay end to end over real sockets: Alertmanager-shaped notifications in, fake DingTalk and
 * WeCom robots (real HTTP servers on 127.0.0.1 that verify credential, signature and content) out.
 */

const SECRET = 'SECa1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';
const TOKEN = 'dt-token-0123456789abcdef';
const PLAIN_TOKEN = 'dt-token-unsigned';
const WECOM_KEY = '693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa';

let dingtalk: FakeRobot;
let dingtalkUnsigned: FakeRobot;
let wecom: FakeRobot;
let broken: FakeRobot;
let relay: Relay;
let base: string;
const logs = memoryLogger();

beforeAll(async () => {
  dingtalk = await FakeRobot.start({ kind: 'dingtalk', credential: TOKEN, secret: SECRET });
  dingtalkUnsigned = await FakeRobot.start({ kind: 'dingtalk', credential: PLAIN_TOKEN });
  wecom = await FakeRobot.start({ kind: 'wecom', credential: WECOM_KEY });
  broken = await FakeRobot.start({ kind: 'dingtalk', credential: TOKEN, mode: 'http-500' });
  const down = await closedPort();
  const config = loadRelayConfig({
    env: {
      RELAY_PORT: '0',
      RELAY_MAX_BODY_BYTES: '65536',
      RELAY_DINGTALK_OPS_URL: dingtalk.url(),
      RELAY_DINGTALK_OPS_SECRET: SECRET,
      RELAY_DINGTALK_OPS_AT_MOBILES: '13800000000',
      RELAY_DINGTALK_WRONG_SECRET_URL: dingtalk.url(),
      RELAY_DINGTALK_WRONG_SECRET_SECRET: `${SECRET.slice(0, -1)}0`,
      RELAY_DINGTALK_PLAIN_URL: dingtalkUnsigned.url(),
      RELAY_DINGTALK_DOWN_URL: `http://127.0.0.1:${down}/robot/send?access_token=${TOKEN}`,
      RELAY_DINGTALK_BROKEN_URL: broken.url(),
      RELAY_WECOM_OPS_URL: wecom.url(),
      RELAY_WECOM_WRONG_KEY_URL: wecom.url('not-the-key'),
    },
  });
  relay = buildRelay({ config, fetch: globalThis.fetch, clock: Date, logger: logs.logger });
  base = await relay.listen();
});

afterAll(async () => {
  await relay?.close();
  await Promise.all([dingtalk, dingtalkUnsigned, wecom, broken].map((r) => r?.close()));
});

async function post(path: string, body: AlertmanagerWebhookPayload | string, url = base) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

function lastDingTalk(robot: FakeRobot): DingTalkMarkdownBody {
  const last = robot.requests.at(-1);
  if (last === undefined) throw new Error('the fake DingTalk robot received nothing');
  return last.body as DingTalkMarkdownBody;
}

describe('relay → DingTalk', () => {
  it('forwards a firing notification, signed, as markdown', async () => {
    const before = dingtalk.requests.length;
    const res = await post('/dingtalk/ops', payload([alert()]));
    expect(res).toEqual({ status: 200, text: 'sent to dingtalk/ops\n' });
    expect(dingtalk.requests).toHaveLength(before + 1);
    const req = dingtalk.requests.at(-1)!;
    expect(req.signatureValid).toBe(true);
    expect(req.errcode).toBe(0);
    expect(req.query.get('access_token')).toBe(TOKEN);
    const body = req.body as DingTalkMarkdownBody;
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.title).toBe('[FIRING:1] HighHTTPErrorRate · critical · message-service');
    expect(body.markdown.text).toContain('#### 🔥 FIRING · HighHTTPErrorRate · critical');
    expect(body.markdown.text).toContain('**Summary:** HTTP 5xx ratio above 5% on message-service');
    expect(body.markdown.text).toContain(
      '[Runbook](https://example.invalid/docs/runbooks/HighHTTPErrorRate.md)',
    );
    expect(body.at).toEqual({ atMobiles: ['13800000000'], isAtAll: false });
    expect(body.markdown.text).toContain('@13800000000');
  });

  it('forwards a resolved notification rendered as resolved', async () => {
    const res = await post('/dingtalk/ops', payload([resolvedAlert()]));
    expect(res.status).toBe(200);
    const req = dingtalk.requests.at(-1)!;
    expect(req.signatureValid).toBe(true);
    const body = req.body as DingTalkMarkdownBody;
    expect(body.markdown.title).toBe('[RESOLVED:1] HighHTTPErrorRate · critical · message-service');
    expect(body.markdown.text).toContain('#### ✅ RESOLVED · HighHTTPErrorRate · critical');
    expect(body.markdown.text).toContain('**Resolved:** 2025-03-01 12:07:30 UTC (lasted 7m 30s)');
    expect(body.markdown.text).not.toContain('FIRING');
    expect(body.at).toBeUndefined();
  });

  it('with a wrong secret: the robot rejects the signature and the relay answers 502 so Alertmanager retries', async () => {
    const before = dingtalk.requests.length;
    const res = await post('/dingtalk/wrong-secret', payload([alert()]));
    expect(res.status).toBe(502);
    expect(res.text).toContain('could not deliver to dingtalk/wrong-secret');
    expect(res.text).toContain('errcode 310000 sign not match');
    expect(res.text).toContain('check the robot secret');
    expect(res.text).not.toContain(TOKEN);
    expect(dingtalk.requests).toHaveLength(before + 1);
    expect(dingtalk.requests.at(-1)).toMatchObject({ signatureValid: false, errcode: 310000 });
  });

  it('sends unsigned when the robot has no secret', async () => {
    const res = await post('/dingtalk/plain', payload([alert()]));
    expect(res.status).toBe(200);
    const req = dingtalkUnsigned.requests.at(-1)!;
    expect(req.query.has('sign')).toBe(false);
    expect(req.query.has('timestamp')).toBe(false);
    expect(lastDingTalk(dingtalkUnsigned).markdown.title).toContain('[FIRING:1]');
  });

  it('cuts a large group to what DingTalk accepts and says how many alerts were left out', async () => {
    const alerts = Array.from({ length: 120 }, (_, i) =>
      alert({ labels: { alertname: 'HighHTTPLatency', severity: 'warning', service: `svc-${i}` } }),
    );
    const res = await post('/dingtalk/ops', payload(alerts));
    expect(res.status).toBe(200);
    const req = dingtalk.requests.at(-1)!;
    expect(req.errcode).toBe(0);
    expect(req.bodyBytes).toBeLessThanOrEqual(20_000);
    expect((req.body as DingTalkMarkdownBody).markdown.text).toMatch(/\*\*… \d+ more alerts not shown\*\*/);
  });

  it('answers 502 when the robot is unreachable or answers a non-2xx status', async () => {
    const down = await post('/dingtalk/down', payload([alert()]));
    expect(down.status).toBe(502);
    expect(down.text).toMatch(/unreachable: .*ECONNREFUSED/);
    expect(down.text).not.toContain(TOKEN);
    const failing = await post('/dingtalk/broken', payload([alert()]));
    expect(failing.status).toBe(502);
    expect(failing.text).toContain('answered HTTP 500: upstream exploded');
  });
});

describe('relay → WeCom', () => {
  it('forwards firing and resolved notifications as markdown', async () => {
    const firing = await post('/wecom/ops', payload([alert()]));
    expect(firing).toEqual({ status: 200, text: 'sent to wecom/ops\n' });
    const first = wecom.requests.at(-1)!;
    expect(first.errcode).toBe(0);
    expect(first.query.get('key')).toBe(WECOM_KEY);
    const firingContent = (first.body as WeComMarkdownBody).markdown.content;
    expect(firingContent).toContain('## <font color="warning">[FIRING:1]</font> HighHTTPErrorRate');
    expect(firingContent).toContain('**Service:** message-service · **Job:** chatim-message');

    const resolved = await post('/wecom/ops', payload([resolvedAlert()]));
    expect(resolved.status).toBe(200);
    const resolvedContent = (wecom.requests.at(-1)!.body as WeComMarkdownBody).markdown.content;
    expect(resolvedContent).toContain('## <font color="info">[RESOLVED:1]</font> HighHTTPErrorRate');
    expect(resolvedContent).toContain('**Resolved:** 2025-03-01 12:07:30 UTC');
    expect(resolvedContent).not.toContain('FIRING');
  });

  it('keeps a large CJK group within 4096 bytes, which the fake enforces', async () => {
    const alerts = Array.from({ length: 80 }, (_, i) =>
      alert({
        labels: { alertname: 'HighMemoryUsage', severity: 'warning', service: `消息服务-${i}` },
        annotations: { summary: '内存使用超过阈值', description: '堆内存使用率 93%,超过 90% 已 10 分钟' },
      }),
    );
    const res = await post('/wecom/ops', payload(alerts));
    expect(res.status).toBe(200);
    const req = wecom.requests.at(-1)!;
    expect(req.errcode).toBe(0);
    expect((req.body as WeComMarkdownBody).markdown.content).toMatch(/… \d+ more alerts not shown/);
  });

  it('reports a wrong webhook key as a 502', async () => {
    const res = await post('/wecom/wrong-key', payload([alert()]));
    expect(res.status).toBe(502);
    expect(res.text).toContain('errcode 93000');
    expect(res.text).not.toContain('not-the-key');
  });
});

describe('invalid requests', () => {
  it('rejects bad JSON, non-Alertmanager bodies, unknown robots, wrong methods and oversized bodies, forwarding nothing', async () => {
    const counts = () => [dingtalk, wecom].map((r) => r.requests.length);
    const before = counts();

    const badJson = await post('/dingtalk/ops', '{"version": "4", ');
    expect(badJson.status).toBe(400);
    expect(badJson.text).toMatch(/^request body is not valid JSON: /);

    const notAm = await post('/wecom/ops', JSON.stringify({ text: 'hello', alerts: [{ labels: 'x' }] }));
    expect(notAm.status).toBe(400);
    expect(notAm.text).toContain('not an Alertmanager webhook payload:');
    expect(notAm.text).toContain(
      '  - version must be "4" (Alertmanager webhook payload version), got nothing',
    );
    expect(notAm.text).toContain('  - status must be "firing" or "resolved", got nothing');
    expect(notAm.text).toContain('  - alerts[0].labels must be an object of strings, got "x"');
    expect(notAm.text).toContain('  - alerts[0].startsAt is required');

    const unknown = await post('/dingtalk/nope', payload([alert()]));
    expect(unknown.status).toBe(404);
    expect(unknown.text).toBe(
      'no DingTalk robot named "nope" (configured: broken, down, ops, plain, wrong-secret)\n',
    );
    const noRoute = await post('/slack/ops', payload([alert()]));
    expect(noRoute.status).toBe(404);

    const get = await fetch(`${base}/dingtalk/ops`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');

    const big = payload([alert({ annotations: { description: 'x'.repeat(70_000) } })]);
    const tooLarge = await post('/dingtalk/ops', big);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.text).toContain('larger than 65536 bytes');

    expect(counts()).toEqual(before);
  });

  it('answers /-/healthy', async () => {
    const res = await fetch(`${base}/-/healthy`);
    expect(res.status).toBe(200);
  });
});

describe('operations', () => {
  it('times out a robot that never answers and answers 502', async () => {
    await using hanging = await FakeRobot.start({ kind: 'dingtalk', credential: TOKEN, mode: 'hang' });
    await using slowRelay = buildRelay({
      config: loadRelayConfig({
        env: { RELAY_PORT: '0', RELAY_UPSTREAM_TIMEOUT_MS: '300', RELAY_DINGTALK_SLOW_URL: hanging.url() },
      }),
      fetch: globalThis.fetch,
      clock: Date,
      logger: memoryLogger().logger,
    });
    const url = await slowRelay.listen();
    const res = await post('/dingtalk/slow', payload([alert()]), url);
    expect(res.status).toBe(502);
    expect(res.text).toContain('did not answer within 300 ms');
  });

  it('counts sent, failed and rejected notifications per channel and target on /metrics', async () => {
    await using robot = await FakeRobot.start({ kind: 'wecom', credential: WECOM_KEY });
    await using metricsRelay = buildRelay({
      config: loadRelayConfig({
        env: {
          RELAY_PORT: '0',
          RELAY_WECOM_A_URL: robot.url(),
          RELAY_WECOM_B_URL: robot.url('wrong'),
        },
      }),
      fetch: globalThis.fetch,
      clock: Date,
      logger: memoryLogger().logger,
    });
    const url = await metricsRelay.listen();
    expect((await post('/wecom/a', payload([alert()]), url)).status).toBe(200);
    expect((await post('/wecom/a', payload([resolvedAlert()]), url)).status).toBe(200);
    expect((await post('/wecom/b', payload([alert()]), url)).status).toBe(502);
    expect((await post('/wecom/b', 'not json', url)).status).toBe(400);
    expect((await post('/wecom/unknown', payload([alert()]), url)).status).toBe(404);
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await res.text()).toBe(
      [
        '# HELP chatim_relay_notifications_total Alertmanager notifications handled by the relay, by channel, robot target and outcome (sent, failed, rejected).',
        '# TYPE chatim_relay_notifications_total counter',
        'chatim_relay_notifications_total{channel="wecom",target="a",status="sent"} 2',
        'chatim_relay_notifications_total{channel="wecom",target="a",status="failed"} 0',
        'chatim_relay_notifications_total{channel="wecom",target="a",status="rejected"} 0',
        'chatim_relay_notifications_total{channel="wecom",target="b",status="sent"} 0',
        'chatim_relay_notifications_total{channel="wecom",target="b",status="failed"} 1',
        'chatim_relay_notifications_total{channel="wecom",target="b",status="rejected"} 1',
        '',
      ].join('\n'),
    );
  });

  it('never logs a secret, token or webhook key', () => {
    const all = logs.lines.join('\n');
    expect(logs.lines.length).toBeGreaterThan(5);
    expect(all).toContain('"message":"notification forwarded"');
    expect(all).toContain('"message":"robot did not take the notification"');
    for (const secret of [SECRET, TOKEN, PLAIN_TOKEN, WECOM_KEY, 'not-the-key'])
      expect(all).not.toContain(secret);
  });
});
