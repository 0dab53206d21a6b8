import { access } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_PROBE_ALERT } from '../../../monitoring/rules/harness.ts';
import { PrometheusClient } from '../../../slo/prometheus-client.ts';
import { up } from '../../../slo/promql.ts';
import { medianPingMs, orphanedStackProcesses, psql, toxiproxy } from '../../../test/support/stack.ts';
import { portIsFree } from '../ports.ts';
import { processGroupMembers } from '../procfs.ts';
import type { StartedStack } from '../types.ts';
import { waitUntil } from '../wait.ts';
import { redisCommand, redisPing } from './probes.ts';
import { ComponentStartError, NativeStackRuntime } from './runtime.ts';

/** Every pid and port of a running stack, to prove teardown leaves nothing behind. */
function footprint(stack: StartedStack) {
  const handles = [...stack.components.values()];
  return {
    pids: handles.map((h) => h.pid).filter((p): p is number => p !== undefined),
    ports: [
      ...handles.flatMap((h) => Object.values(h.ports)),
      new URL(stack.endpoints.alertSink.url).port,
    ].map(Number),
  };
}

async function expectGone(fp: { pids: number[]; ports: number[] }): Promise<void> {
  for (const pid of fp.pids) expect(await processGroupMembers(pid), `process group ${pid}`).toEqual([]);
  for (const port of fp.ports) expect(await portIsFree(port), `port ${port}`).toBe(true);
}

describe('native stack', () => {
  let stack: StartedStack;
  const logs: string[] = [];

  beforeAll(async () => {
    stack = await new NativeStackRuntime().start({ log: (l) => logs.push(l) });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('starts every component on 127.0.0.1 with distinct ports', () => {
    expect([...stack.components.keys()].sort()).toEqual([
      'alertmanager',
      'postgres',
      'postgres-exporter',
      'prometheus',
      'redis',
      'redis-exporter',
      'toxiproxy',
    ]);
    const ports = footprint(stack).ports;
    expect(new Set(ports).size).toBe(ports.length);
    for (const h of stack.components.values()) expect(h.state).toBe('running');
    expect(stack.endpoints.redis.url).toBe(`redis://127.0.0.1:${stack.endpoints.redis.port}`);
  });

  it('has every Prometheus target up', async () => {
    const prom = new PrometheusClient(stack.endpoints.prometheus.url);
    await waitUntil(
      async () => {
        const samples = await prom.instantQuery(up());
        const jobs = new Set(samples.filter((s) => s.value === 1).map((s) => s.metric.job));
        return stack.scrapeJobs.every((j) => jobs.has(j));
      },
      { what: 'all targets up', timeoutMs: 30_000 },
    );
    expect([...stack.scrapeJobs].sort()).toEqual([
      'alertmanager',
      'chatim-slo-harness',
      'postgres',
      'prometheus',
      'redis',
      'toxiproxy',
    ]);
  });

  it('serves PostgreSQL through Toxiproxy with the database created', async () => {
    expect(await psql(stack, 'select current_database()')).toBe('chatim');
  });

  it('adds measurable delay with a Toxiproxy latency toxic, and removing it restores', async () => {
    const port = stack.endpoints.redis.port;
    const baseline = await medianPingMs(port);
    await toxiproxy(stack, 'POST', '/proxies/redis/toxics', {
      name: 'test_latency',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 200, jitter: 0 },
    });
    const slowed = await medianPingMs(port, 5);
    await toxiproxy(stack, 'DELETE', '/proxies/redis/toxics/test_latency');
    const restored = await medianPingMs(port);
    expect(slowed).toBeGreaterThanOrEqual(200);
    expect(slowed - baseline).toBeGreaterThanOrEqual(190);
    expect(restored).toBeLessThan(100); // the toxic is gone: far below its 200 ms
  });

  it('delivers an alert through Prometheus → Alertmanager → sink, then its resolution', async () => {
    const isProbe =
      (status: string) =>
      (n: { payload: { alerts: { status: string; labels: Record<string, string> }[] } }) =>
        n.payload.alerts.some(
          (a) => a.labels.alertname === ALERT_PROBE_ALERT && a.labels.probe === 'test' && a.status === status,
        );
    stack.alertSink.setProbe('test', 1);
    const fired = await stack.alertSink.waitFor(isProbe('firing'), 60_000);
    expect(fired.payload.receiver).toBe('harness-sink');
    stack.alertSink.setProbe('test', 0);
    const resolved = await stack.alertSink.waitFor(isProbe('resolved'), 60_000);
    expect(resolved.receivedAt).toBeGreaterThan(fired.receivedAt);
  });

  it('freezes and thaws a component', async () => {
    const redis = stack.component('redis');
    await redis.freeze();
    expect(redis.state).toBe('frozen');
    await expect(redisPing(redis.ports.main!, 300)).rejects.toThrow('no answer to PING');
    await redis.thaw();
    expect(redis.state).toBe('running');
    expect(await redisPing(redis.ports.main!)).toBe(true);
  });

  it('reports a killed component through its handle, and restarts it with its data (AOF)', async () => {
    const redis = stack.component('redis');
    const port = redis.ports.main!;
    expect(await redisCommand(port, 'SET chatim-slo:test kept')).toBe('+OK');
    const oldPid = redis.pid!;
    await redis.kill();
    const exit = await redis.exited();
    expect(exit.signal).toBe('SIGKILL');
    expect(redis.state).toBe('exited');
    expect(redis.pid).toBeUndefined();
    expect(logs.some((l) => l.includes('component "redis" exited unexpectedly (signal SIGKILL)'))).toBe(true);
    expect(await processGroupMembers(oldPid)).toEqual([]);

    await redis.restart();
    expect(redis.state).toBe('running');
    expect(redis.pid).not.toBe(oldPid);
    expect(redis.ports.main).toBe(port);
    expect(await redisCommand(port, 'GET chatim-slo:test')).toBe('kept');
    expect(await redis.logs(200)).toContain('Ready to accept connections');
  });

  it('stops a component gracefully and restarts PostgreSQL with its database', async () => {
    const pg = stack.component('postgres');
    await pg.stop();
    expect(pg.state).toBe('stopped');
    expect(pg.lastExit?.code).toBe(0);
    await pg.restart();
    expect(await psql(stack, 'select 1')).toBe('1');
  });
});

describe('native stack lifecycle', () => {
  it('runs two stacks side by side, and teardown leaves no process, port or directory', async () => {
    const runtime = new NativeStackRuntime();
    const [a, b] = await Promise.all([runtime.start(), runtime.start()]);
    const fa = footprint(a);
    const fb = footprint(b);
    expect(fa.ports.filter((p) => fb.ports.includes(p))).toEqual([]);
    expect(await redisPing(a.endpoints.redis.port)).toBe(true);
    expect(await redisPing(b.endpoints.redis.port)).toBe(true);
    expect(fa.pids).toHaveLength(7);
    await Promise.all([a.stop(), b.stop()]);
    await expectGone(fa);
    await expectGone(fb);
    await expect(access(a.dir)).rejects.toThrow();
    await a.stop(); // idempotent
  });

  it('tears down with `await using`, and keeps the directory with keep', async () => {
    let dir = '';
    let fp: { pids: number[]; ports: number[] } = { pids: [], ports: [] };
    {
      await using stack = await new NativeStackRuntime().start({ keep: true });
      dir = stack.dir;
      fp = footprint(stack);
    }
    await expectGone(fp);
    await access(`${dir}/logs/redis.log`);
    const { rm } = await import('node:fs/promises');
    await rm(dir, { recursive: true, force: true });
  });

  it('fails to start with the component name and its last log lines, leaving nothing behind', async () => {
    const err = await new NativeStackRuntime()
      .start({ extraArgs: { redis: ['--no-such-directive', 'x'] } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComponentStartError);
    const failure = err as ComponentStartError;
    expect(failure.component).toBe('redis');
    expect(failure.message).toContain(
      'component "redis" failed to start: gave up waiting for redis to become ready: it exited with code 1',
    );
    expect(failure.logTail).toContain('no-such-directive');
    expect(await orphanedStackProcesses()).toEqual([]);
  });
});
