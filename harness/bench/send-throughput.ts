/**
 * `npm run bench:send`: what the ChatIM send path costs, as ratios measured in one run on one machine.
 *
 * 1. Closed-loop load (autocannon: C connections, each sends its next request when the previous one
 *    answered) on `POST /api/v1/messages/send` through the gateway (auth, validation, gateway →
 *    message-service hop, atomic Lua send, metrics), and with the same tool and body on a minimal
 *    fastify + Redis endpoint (harness/bench/baseline-send-server.ts) over the same Toxiproxy link.
 *    Rounds alternate gateway/baseline; medians of the rounds are reported, and gateway ÷ baseline.
 * 2. The gateway's memory holding N idle WebSockets: RSS and V8 heap before and after.
 *
 * Figures are medians and ratios on a shared, noisy 2-core machine; nothing here is a test.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import WebSocket from 'ws';
import { ChatFlow } from '../../test/support/chat-flow.ts';
import { NativeStackRuntime } from '../stack/native/runtime.ts';
import { fullStackComponents } from '../stack/native/sut-components.ts';
import { waitUntil } from '../stack/wait.ts';
import { PACKAGE_ROOT } from '../util/paths.ts';
import { formatMs, renderTable } from '../util/table.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) {
    process.stderr.write(`--${name} must be a positive number\n`);
    process.exit(4);
  }
  return v;
};
const ROUNDS = arg('rounds', 3);
const SECONDS = arg('seconds', 10);
const CONNECTIONS = arg('connections', 16);
const SOCKETS = arg('sockets', 5000);

interface Round {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(
  url: string,
  headers: Record<string, string>,
  body: string,
  seconds: number,
): Promise<Round> {
  const r = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
  });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return kb * 1024;
}

async function gaugeValue(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return Number(line?.slice(line.lastIndexOf(' ') + 1));
}

const out = (line: string) => process.stdout.write(`${line}\n`);

await using stack = await new NativeStackRuntime(() =>
  fullStackComponents({
    env: { gateway: { CHATIM_LOG_LEVEL: 'error' }, 'message-service': { CHATIM_LOG_LEVEL: 'error' } },
  }),
).start({ readyTimeoutMs: 60_000 });
const gatewayPort = stack.component('gateway').ports.main!;
const gateway = `http://127.0.0.1:${gatewayPort}`;
const flow = new ChatFlow(gateway);
const [alice, bob] = [await flow.user('bench'), await flow.user('bench')];
await flow.befriend(alice, bob);
const body = JSON.stringify({
  to_user_id: bob.id,
  content: 'benchmark message of a typical length, about sixty bytes',
});

// The baseline, in its own process like the gateway, on the same Redis link.
const baseline = spawn(process.execPath, ['--import', 'tsx', 'harness/bench/baseline-send-server.ts'], {
  cwd: PACKAGE_ROOT,
  env: { ...process.env, BASELINE_REDIS_URL: stack.endpoints.redis.url },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const baselinePort = await new Promise<number>((resolve, reject) => {
  baseline.once('exit', (code) => reject(new Error(`baseline server exited with ${code}`)));
  createInterface({ input: baseline.stdout! }).on('line', (l) => {
    const m = /^listening (\d+)$/.exec(l);
    if (m) resolve(Number(m[1]));
  });
});

try {
  out(
    `closed-loop load: ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} rounds (+ a 3 s warm-up each)`,
  );
  const targets = {
    gateway: { url: `${gateway}/api/v1/messages/send`, headers: { authorization: `Bearer ${alice.token}` } },
    baseline: { url: `http://127.0.0.1:${baselinePort}/send`, headers: {} },
  };
  for (const t of Object.values(targets)) await load(t.url, t.headers, body, 3);
  const rounds: Record<keyof typeof targets, Round[]> = { gateway: [], baseline: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, t] of Object.entries(targets) as [
      keyof typeof targets,
      (typeof targets)['gateway'],
    ][]) {
      const r = await load(t.url, t.headers, body, SECONDS);
      rounds[name].push(r);
      out(
        `round ${i + 1} ${name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, errors ${r.errors}, non-2xx ${r.non2xx}`,
      );
    }
  }
  const m = (name: keyof typeof targets, k: keyof Round) => median(rounds[name].map((r) => r[k]));
  out(
    `\n${renderTable(
      ['target', 'req/s (median)', 'p50 ms', 'p99 ms', 'errors + non-2xx'],
      (['gateway', 'baseline'] as const).map((n) => [
        n,
        m(n, 'rps').toFixed(0),
        String(m(n, 'p50')),
        String(m(n, 'p99')),
        String(rounds[n].reduce((a, r) => a + r.errors + r.non2xx, 0)),
      ]),
    )}`,
  );
  out(
    `gateway ÷ baseline: throughput ${(m('gateway', 'rps') / m('baseline', 'rps')).toFixed(2)}×, p99 ${(m('gateway', 'p99') / m('baseline', 'p99')).toFixed(2)}×`,
  );

  // Idle WebSockets: memory of the gateway before and after holding SOCKETS of them.
  const gatewayPid = stack.component('gateway').pid!;
  const metricsUrl = `http://127.0.0.1:${stack.component('gateway').ports.metrics}/metrics`;
  const heapBefore = await gaugeValue(metricsUrl, 'chatim_nodejs_heap_size_used_bytes');
  const rssBefore = await rssBytes(gatewayPid);
  const sockets: WebSocket[] = [];
  const t0 = Date.now();
  for (let i = 0; i < SOCKETS; i += 250) {
    const batch = Array.from({ length: Math.min(250, SOCKETS - i) }, () => {
      const ws = new WebSocket(`${gateway.replace('http', 'ws')}/ws`, {
        headers: { authorization: `Bearer ${bob.token}` },
      });
      sockets.push(ws);
      return new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
    });
    await Promise.all(batch);
  }
  await waitUntil(
    async () => (await gaugeValue(metricsUrl, 'chatim_websocket_active_connections')) >= SOCKETS,
    {
      what: `the gateway to count ${SOCKETS} sockets`,
      timeoutMs: 60_000,
    },
  );
  const rssAfter = await rssBytes(gatewayPid);
  const heapAfter = await gaugeValue(metricsUrl, 'chatim_nodejs_heap_size_used_bytes');
  const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  out(`\n${SOCKETS} idle WebSockets opened in ${formatMs(Date.now() - t0)}`);
  out(
    renderTable(
      ['gateway memory', 'before', `with ${SOCKETS} sockets`, 'per socket'],
      [
        ['RSS', mib(rssBefore), mib(rssAfter), `${((rssAfter - rssBefore) / SOCKETS / 1024).toFixed(1)} KiB`],
        [
          'V8 heap used',
          mib(heapBefore),
          mib(heapAfter),
          `${((heapAfter - heapBefore) / SOCKETS / 1024).toFixed(1)} KiB`,
        ],
      ],
    ),
  );
  for (const ws of sockets) ws.terminate();
} finally {
  flow.close();
  baseline.kill('SIGTERM');
}
