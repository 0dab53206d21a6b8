import { describe, expect, it } from 'vitest';
import { runDoctor } from './doctor.ts';
import { InterruptedError } from './errors.ts';
import type { NativeComponent } from './stack/native/component.ts';
import { coreComponents } from './stack/native/core-components.ts';
import { redisPing } from './stack/native/probes.ts';
import { NativeStackRuntime } from './stack/native/runtime.ts';
import { toolByName } from './tools/manifest.ts';

describe('doctor', () => {
  it('passes every check on a healthy stack and times the alert path', async () => {
    const report = await runDoctor();
    const failed = report.checks.filter((c) => c.status !== 'ok');
    expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
    expect(report.checks.map((c) => c.name)).toEqual([
      'tools',
      'stack start',
      'prometheus targets up',
      'chatim services ready',
      'redis through toxiproxy',
      'alertmanager single node',
      'prometheus remote-write receiver',
      'alert path at start-up (watchdog)',
      'alert path prometheus → alertmanager → sink',
      'teardown',
    ]);
    expect(report.alertPathMs).toBeGreaterThanOrEqual(0);
    expect(report.stackStartupMs).toBeGreaterThan(0);
  });

  it('fails (and still tears down) when a Prometheus target is down (negative control)', async () => {
    // A real process that listens but does not speak the Prometheus exposition format: up == 0.
    const notAnExporter: NativeComponent = {
      name: 'not-an-exporter',
      ports: ['main'],
      dependsOn: [],
      tools: ['redis-server'],
      scrape: { job: 'not-an-exporter' },
      process: (ctx) => ({
        command: toolByName('redis-server').binary,
        args: [
          '--bind',
          '127.0.0.1',
          '--port',
          String(ctx.port('not-an-exporter')),
          '--save',
          '',
          '--dir',
          ctx.dir,
        ],
      }),
      ready: (ctx) => redisPing(ctx.port('not-an-exporter')),
    };
    const report = await runDoctor({
      runtime: new NativeStackRuntime(() => [...coreComponents(), notAnExporter]),
      timeoutMs: 8000,
    });
    expect(report.ok).toBe(false);
    const targets = report.checks.find((c) => c.name === 'prometheus targets up');
    expect(targets?.status).toBe('failed');
    expect(targets?.detail).toContain('down: not-an-exporter');
    expect(report.checks.find((c) => c.name === 'teardown')?.status).toBe('ok');
    // A stack without the ChatIM services says so instead of silently dropping the check.
    expect(report.checks.find((c) => c.name === 'chatim services ready')).toMatchObject({
      status: 'skipped',
      detail: 'this stack has no ChatIM services',
    });
  });

  it('stops when interrupted: tears down and throws InterruptedError instead of reporting a result', async () => {
    const controller = new AbortController();
    const lines: string[] = [];
    const running = runDoctor({
      signal: controller.signal,
      runtime: new NativeStackRuntime(coreComponents),
      log: (line) => {
        lines.push(line);
        if (line.startsWith('✓ stack start')) controller.abort();
      },
    });
    await expect(running).rejects.toBeInstanceOf(InterruptedError);
    expect(lines.some((l) => l.startsWith('✓ teardown'))).toBe(true);
    expect(lines.some((l) => l.includes('alert path'))).toBe(false);
  });
});
