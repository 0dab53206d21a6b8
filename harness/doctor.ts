import { ALERT_PROBE_ALERT, WATCHDOG_ALERT } from '../monitoring/rules/harness.ts';
import { PrometheusClient } from '../slo/prometheus-client.ts';
import { up } from '../slo/promql.ts';
import { InterruptedError, throwIfAborted } from './errors.ts';
import type { AlertNotification } from './stack/alert-sink.ts';
import { redisPing } from './stack/native/probes.ts';
import { NativeStackRuntime } from './stack/native/runtime.ts';
import { fullStackComponents, SUT } from './stack/native/sut-components.ts';
import { portIsFree } from './stack/ports.ts';
import { processGroupMembers } from './stack/procfs.ts';
import type { StackRuntime, StartedStack } from './stack/types.ts';
import { httpOk, waitUntil } from './stack/wait.ts';
import { checkTools } from './tools/check.ts';

export interface DoctorCheck {
  readonly name: string;
  /** `skipped` says why a check did not apply to this stack; it is never counted as ok. */
  readonly status: 'ok' | 'failed' | 'skipped';
  readonly ms: number;
  readonly detail: string;
}

export interface DoctorReport {
  readonly ok: boolean;
  readonly checks: readonly DoctorCheck[];
  /** Rule became active (Prometheus activeAt) → notification received by the sink, in ms. */
  readonly alertPathMs: number | undefined;
  readonly stackStartupMs: number | undefined;
}

export interface DoctorOptions {
  readonly runtime?: StackRuntime;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
  /** Deadline for targets to come up and for the first alert to arrive. */
  readonly timeoutMs?: number;
}

class Checks {
  readonly list: DoctorCheck[] = [];
  constructor(
    private readonly log: (line: string) => void,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Runs one check; an interrupt stops the doctor (except for `always` checks such as teardown). */
  async run(name: string, fn: () => Promise<string>, options: { always?: boolean } = {}): Promise<boolean> {
    if (!options.always) throwIfAborted(this.signal, `running the doctor (before "${name}")`);
    const t0 = Date.now();
    try {
      const detail = await fn();
      this.#add({ name, status: 'ok', ms: Date.now() - t0, detail });
      return true;
    } catch (err) {
      if (err instanceof InterruptedError && !options.always) throw err;
      this.#add({ name, status: 'failed', ms: Date.now() - t0, detail: (err as Error).message });
      return false;
    }
  }

  skip(name: string, why: string): void {
    this.#add({ name, status: 'skipped', ms: 0, detail: why });
  }

  #add(check: DoctorCheck): void {
    this.list.push(check);
    const mark = { ok: '✓', failed: '✗', skipped: '-' }[check.status];
    this.log(`${mark} ${check.name}: ${check.detail.split('\n')[0]}`);
  }
}

/**
 * The first thing to run when something is wrong: tools, a real stack, every Prometheus target up,
 * one alert pushed through Prometheus → Alertmanager → sink (timed), a clean teardown.
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const log = options.log ?? (() => {});
  const timeoutMs = options.timeoutMs ?? 60_000;
  const checks = new Checks(log, options.signal);
  let alertPathMs: number | undefined;
  let stackStartupMs: number | undefined;

  const toolsOk = await checks.run('tools', async () => {
    const statuses = await checkTools();
    const bad = statuses.filter((s) => !s.ok);
    if (bad.length > 0) throw new Error(bad.map((s) => `${s.tool.name}: ${s.problem}`).join('; '));
    return `${statuses.length} tools at their pinned versions`;
  });
  if (!toolsOk) return { ok: false, checks: checks.list, alertPathMs, stackStartupMs };

  let stack: StartedStack | undefined;
  const started = await checks.run('stack start', async () => {
    stack = await (options.runtime ?? new NativeStackRuntime(() => fullStackComponents())).start({
      readyTimeoutMs: 60_000,
      log: (line) => {
        if (line.startsWith('- ') || line.startsWith('!')) log(`  ${line}`);
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    stackStartupMs = stack.startupMs;
    return `${stack.components.size} components ready in ${stack.startupMs} ms`;
  });
  if (!started || !stack) return { ok: false, checks: checks.list, alertPathMs, stackStartupMs };
  const s: StartedStack = stack;
  const prom = new PrometheusClient(s.endpoints.prometheus.url);
  const pids = [...s.components.values()].map((h) => h.pid).filter((p): p is number => p !== undefined);
  const ports = [...s.components.values()].flatMap((h) => Object.values(h.ports));

  try {
    await checks.run('prometheus targets up', async () => {
      let last = '';
      await waitUntil(
        async () => {
          const samples = await prom.instantQuery(up());
          const down = samples.filter((x) => x.value !== 1).map((x) => x.metric.job ?? '?');
          last = `${samples.length} targets, down: ${down.join(', ') || 'none'}`;
          const missing = s.scrapeJobs.filter((job) => !samples.some((x) => x.metric.job === job));
          last += missing.length > 0 ? `, not scraped yet: ${missing.join(', ')}` : '';
          return down.length === 0 && missing.length === 0;
        },
        { what: 'every Prometheus target to report up == 1', timeoutMs, signal: options.signal },
      ).catch((err: Error) => {
        throw new Error(`${err.message}; last seen: ${last}`);
      });
      return last;
    });

    const services = Object.values(SUT).filter((name) => s.components.has(name));
    if (services.length === 0) checks.skip('chatim services ready', 'this stack has no ChatIM services');
    else {
      await checks.run('chatim services ready', async () => {
        for (const name of services)
          await httpOk(`http://127.0.0.1:${s.component(name).ports.main}/readyz`, 5000);
        const gw = s.component(SUT.gateway).ports.main;
        const res = await fetch(`http://127.0.0.1:${gw}/api/v1/openapi.json`, {
          signal: AbortSignal.timeout(5000),
        });
        if (!res.ok) throw new Error(`GET /api/v1/openapi.json on the gateway answered ${res.status}`);
        // Read it whole: a half-read response keeps the connection busy and slows the gateway's shutdown.
        const doc = (await res.json()) as { openapi?: string };
        if (!doc.openapi)
          throw new Error('the gateway served /api/v1/openapi.json without an `openapi` version');
        return `${services.join(', ')} ready (their dependencies checked); gateway API on 127.0.0.1:${gw}`;
      });
    }

    await checks.run('redis through toxiproxy', async () => {
      await redisPing(s.endpoints.redis.port);
      return `PING → PONG on 127.0.0.1:${s.endpoints.redis.port}`;
    });

    await checks.run('alertmanager single node', async () => {
      const res = await fetch(`${s.endpoints.alertmanager.url}/api/v2/status`, {
        signal: AbortSignal.timeout(5000),
      });
      const status = (await res.json()) as { cluster?: { status?: string } };
      if (status.cluster?.status !== 'disabled')
        throw new Error(`cluster status is ${status.cluster?.status}`);
      return 'clustering disabled';
    });

    await checks.run('prometheus remote-write receiver', async () => {
      const res = await fetch(`${s.endpoints.prometheus.url}/api/v1/write`, {
        method: 'POST',
        body: '',
        signal: AbortSignal.timeout(5000),
      });
      await res.body?.cancel();
      // An empty body is not valid snappy: 400 means the receiver is on; 404 means it is off.
      if (res.status !== 400) throw new Error(`POST /api/v1/write answered ${res.status}, expected 400`);
      return 'on (empty write rejected with 400)';
    });

    await checks.run('alert path at start-up (watchdog)', async () => {
      const n = await s.alertSink.waitFor(
        (x) => x.payload.alerts.some((a) => a.labels.alertname === WATCHDOG_ALERT && a.status === 'firing'),
        timeoutMs,
        options.signal,
      );
      const active = (await prom.alerts()).find((a) => a.labels.alertname === WATCHDOG_ALERT);
      if (!active) throw new Error(`${WATCHDOG_ALERT} reached the sink but Prometheus does not list it`);
      return `${WATCHDOG_ALERT} delivered ${n.receivedAt - Date.parse(active.activeAt)} ms after it fired (includes Prometheus' start-up discovery delay)`;
    });

    await checks.run('alert path prometheus → alertmanager → sink', async () => {
      const isProbe = (status: 'firing' | 'resolved') => (x: AlertNotification) =>
        x.payload.alerts.some(
          (a) =>
            a.labels.alertname === ALERT_PROBE_ALERT && a.labels.probe === 'doctor' && a.status === status,
        );
      s.alertSink.setProbe('doctor', 1);
      const fired = await s.alertSink.waitFor(isProbe('firing'), timeoutMs, options.signal);
      const active = (await prom.alerts()).find(
        (a) => a.labels.alertname === ALERT_PROBE_ALERT && a.labels.probe === 'doctor',
      );
      if (!active) throw new Error(`${ALERT_PROBE_ALERT} reached the sink but Prometheus does not list it`);
      alertPathMs = fired.receivedAt - Date.parse(active.activeAt);
      const resolveStart = Date.now();
      s.alertSink.setProbe('doctor', 0);
      const resolved = await s.alertSink.waitFor(isProbe('resolved'), timeoutMs, options.signal);
      return (
        `${ALERT_PROBE_ALERT} delivered ${alertPathMs} ms after the rule fired (receiver ${fired.payload.receiver}); ` +
        `resolved notification ${resolved.receivedAt - resolveStart} ms after the probe was cleared`
      );
    });
  } finally {
    await checks.run(
      'teardown',
      async () => {
        await s.stop();
        const left = (await Promise.all(pids.map((p) => processGroupMembers(p)))).flat();
        if (left.length > 0) throw new Error(`processes left: ${left.join(', ')}`);
        const busy = [];
        for (const p of ports) if (!(await portIsFree(p))) busy.push(p);
        if (busy.length > 0) throw new Error(`ports still in use: ${busy.join(', ')}`);
        return `${pids.length} process groups gone, ${ports.length} ports free`;
      },
      { always: true },
    );
  }
  return {
    ok: checks.list.every((c) => c.status !== 'failed'),
    checks: checks.list,
    alertPathMs,
    stackStartupMs,
  };
}
