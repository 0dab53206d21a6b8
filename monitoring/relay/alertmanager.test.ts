import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allocatePorts } from '../../harness/stack/ports.ts';
import { type ProcessSpec, SupervisedProcess } from '../../harness/stack/process.ts';
import { httpOk, waitUntil } from '../../harness/stack/wait.ts';
import { toolByName } from '../../harness/tools/manifest.ts';
import { buildRelay } from './app.ts';
import { loadRelayConfig } from './config.ts';
import type { DingTalkMarkdownBody, WeComMarkdownBody } from './format.ts';
import { FakeRobot, memoryLogger } from './test-support.ts';

/**
 * The whole path with a real Alertmanager 0.25: an alert POSTed to its API is routed to a receiver
 * whose webhook_configs point at the relay, and the fake robots receive the signed DingTalk and the
 * WeCom message; then the alert is resolved and the resolved messages arrive too.
 */

const SECRET = 'SEC9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0';

describe('relay behind a real Alertmanager', () => {
  it('turns Alertmanager firing and resolved notifications into robot messages', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'relay-am-'));
    await using dingtalk = await FakeRobot.start({ kind: 'dingtalk', credential: 'tok', secret: SECRET });
    await using wecom = await FakeRobot.start({ kind: 'wecom', credential: 'key' });
    await using relay = buildRelay({
      config: loadRelayConfig({
        env: {
          RELAY_PORT: '0',
          RELAY_DINGTALK_OPS_URL: dingtalk.url(),
          RELAY_DINGTALK_OPS_SECRET: SECRET,
          RELAY_WECOM_OPS_URL: wecom.url(),
        },
      }),
      fetch: globalThis.fetch,
      clock: Date,
      logger: memoryLogger().logger,
    });
    const relayUrl = await relay.listen();
    const [amPort] = await allocatePorts(1);
    const am = `http://127.0.0.1:${amPort}`;
    // JSON is YAML, so the config needs no YAML library.
    const config = {
      route: {
        receiver: 'robots',
        group_by: ['alertname'],
        group_wait: '1s',
        group_interval: '1s',
        repeat_interval: '1h',
      },
      receivers: [
        {
          name: 'robots',
          webhook_configs: [
            { url: `${relayUrl}/dingtalk/ops`, send_resolved: true },
            { url: `${relayUrl}/wecom/ops`, send_resolved: true },
          ],
        },
      ],
    };
    await writeFile(path.join(dir, 'am.yml'), JSON.stringify(config, null, 2));
    const spec: ProcessSpec = {
      command: toolByName('alertmanager').binary,
      args: [
        `--config.file=${path.join(dir, 'am.yml')}`,
        `--storage.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        `--web.external-url=${am}/`,
        '--cluster.listen-address=',
      ],
      cwd: dir,
      stopTimeoutMs: 5000,
    };
    const logFile = path.join(dir, 'alertmanager.log');
    const proc = await SupervisedProcess.spawn(spec, logFile);
    try {
      const exitedEarly = () => (proc.running ? undefined : 'Alertmanager exited; see its log');
      await waitUntil(() => httpOk(`${am}/-/ready`), {
        what: 'Alertmanager to be ready',
        timeoutMs: 30_000,
        giveUp: exitedEarly,
      });

      const labels = {
        alertname: 'RelayLiveProbe',
        severity: 'warning',
        service: 'relay-test',
        job: 'relay',
      };
      const annotations = {
        summary: 'live probe through Alertmanager',
        description: 'value 42 above threshold 10',
        runbook_url: 'https://example.invalid/docs/runbooks/RelayLiveProbe.md',
      };
      const startsAt = new Date(Date.now() - 60_000).toISOString();
      const postAlert = async (endsAt?: string) => {
        const res = await fetch(`${am}/api/v2/alerts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify([{ labels, annotations, startsAt, ...(endsAt ? { endsAt } : {}) }]),
        });
        expect(res.status).toBe(200);
      };

      const dingTalkText = (status: string) =>
        dingtalk
          .accepted()
          .map((r) => (r.body as DingTalkMarkdownBody).markdown)
          .find((m) => m.title.startsWith(status));
      const weComContent = (status: string) =>
        wecom
          .accepted()
          .map((r) => (r.body as WeComMarkdownBody).markdown.content)
          .find((c) => c.includes(status));

      await postAlert();
      await waitUntil(
        async () => dingTalkText('[FIRING:1]') !== undefined && weComContent('[FIRING:1]') !== undefined,
        {
          what: 'the firing notification to reach both fake robots through Alertmanager and the relay',
          timeoutMs: 30_000,
          giveUp: exitedEarly,
        },
      );
      const firing = dingTalkText('[FIRING:1]')!;
      expect(firing.title).toBe('[FIRING:1] RelayLiveProbe · warning · relay-test');
      expect(firing.text).toContain('**Summary:** live probe through Alertmanager');
      expect(firing.text).toContain('> value 42 above threshold 10');
      expect(firing.text).toContain('**Receiver:** robots');
      expect(firing.text).toContain(`[Open Alertmanager](${am})`);
      expect(dingtalk.requests.every((r) => r.signatureValid === true)).toBe(true);
      expect(weComContent('[FIRING:1]')).toContain(
        '### <font color="warning">FIRING</font> RelayLiveProbe · warning',
      );

      await postAlert(new Date().toISOString());
      await waitUntil(
        async () => dingTalkText('[RESOLVED:1]') !== undefined && weComContent('[RESOLVED:1]') !== undefined,
        {
          what: 'the resolved notification to reach both fake robots',
          timeoutMs: 30_000,
          giveUp: exitedEarly,
        },
      );
      expect(dingTalkText('[RESOLVED:1]')!.text).toContain('#### ✅ RESOLVED · RelayLiveProbe · warning');
      expect(weComContent('[RESOLVED:1]')).toContain(
        '## <font color="info">[RESOLVED:1]</font> RelayLiveProbe',
      );
      expect(relay.metrics.get('dingtalk', 'ops', 'failed')).toBe(0);
      expect(relay.metrics.get('wecom', 'ops', 'failed')).toBe(0);
    } catch (err) {
      const log = await readFile(logFile, 'utf8').catch(() => '(no log)');
      throw new Error(`${(err as Error).message}\n--- alertmanager log (tail) ---\n${log.slice(-3000)}`, {
        cause: err,
      });
    } finally {
      await proc.stop(spec);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
