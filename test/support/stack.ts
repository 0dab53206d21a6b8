import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { redisPing } from '../../harness/stack/native/probes.ts';
import type { StartedStack } from '../../harness/stack/types.ts';
import { waitUntil } from '../../harness/stack/wait.ts';
import { toolByName } from '../../harness/tools/manifest.ts';
import { exec } from '../../harness/util/exec.ts';
import type { PrometheusClient } from '../../slo/prometheus-client.ts';
import { timestamp, up } from '../../slo/promql.ts';

/** Median wall time of `n` Redis PINGs to 127.0.0.1:port, in ms. */
export async function medianPingMs(port: number, n = 9): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await redisPing(port, 5000);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)]!;
}

/** Runs SQL through psql against the stack's PostgreSQL endpoint (through Toxiproxy). */
export async function psql(stack: StartedStack, sql: string): Promise<string> {
  const pg = stack.endpoints.postgres;
  const bin = path.join(path.dirname(toolByName('postgres').binary), 'psql');
  const r = await exec(
    bin,
    ['-h', '127.0.0.1', '-p', String(pg.port), '-U', pg.user, '-d', pg.database, '-tAc', sql],
    { env: { ...process.env, PGPASSWORD: pg.password, PGCONNECT_TIMEOUT: '5' }, timeoutMs: 15_000 },
  );
  if (r.code !== 0) throw new Error(`psql failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

export async function toxiproxy(
  stack: StartedStack,
  method: string,
  route: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(`${stack.endpoints.toxiproxy.url}${route}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`toxiproxy ${method} ${route} → ${res.status}: ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

/** Processes whose command line names a path inside `dir` (a stack directory). */
export async function processesMentioning(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(dir)) found.push(`${entry}: ${cmd.replaceAll('\0', ' ')}`);
  }
  return found;
}

/**
 * Processes still running from a stack directory that no longer exists (a teardown that leaked).
 * Safe while other tests run stacks of their own: their directories still exist.
 */
export async function orphanedStackProcesses(): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const dir = /\/[^\0=]*\/chatim-slo-stack-[^/\0]+/.exec(cmd)?.[0];
    if (
      dir &&
      !(await access(dir).then(
        () => true,
        () => false,
      ))
    )
      found.push(`${entry}: ${cmd.replaceAll('\0', ' ')}`);
  }
  return found;
}

/** Waits until Prometheus has scraped every one of `jobs` at least once after `afterMs` (epoch ms). */
export async function waitForScrape(
  prom: PrometheusClient,
  jobs: readonly string[],
  afterMs: number,
): Promise<void> {
  await waitUntil(
    async () => {
      const samples = await prom.instantQuery(timestamp(up()));
      return jobs.every((job) => samples.some((s) => s.metric.job === job && s.value * 1000 > afterMs));
    },
    { what: `Prometheus to scrape ${jobs.join(', ')} again`, timeoutMs: 30_000 },
  );
}
