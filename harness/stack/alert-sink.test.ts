import { describe, expect, it } from 'vitest';
import { InterruptedError } from '../errors.ts';
import { AlertSink } from './alert-sink.ts';

const payload = (alertname: string, status: 'firing' | 'resolved') => ({
  version: '4',
  groupKey: '{}',
  truncatedAlerts: 0,
  status,
  receiver: 'harness-sink',
  groupLabels: {},
  commonLabels: { alertname },
  commonAnnotations: {},
  externalURL: 'http://127.0.0.1:9093',
  alerts: [
    {
      status,
      labels: { alertname },
      annotations: {},
      startsAt: new Date().toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: '',
      fingerprint: 'f',
    },
  ],
});

const post = (url: string, body: string) => fetch(url, { method: 'POST', body });

describe('AlertSink', () => {
  it('records notifications with their arrival time and wakes waiters', async () => {
    await using sink = await AlertSink.start();
    const waiting = sink.waitFor((n) => n.payload.status === 'resolved', 5000);
    const before = Date.now();
    expect(
      (await post(`${sink.url}/alerts/harness-sink`, JSON.stringify(payload('A', 'firing')))).status,
    ).toBe(200);
    expect(
      (await post(`${sink.url}/alerts/harness-sink`, JSON.stringify(payload('A', 'resolved')))).status,
    ).toBe(200);
    const resolved = await waiting;
    expect(resolved.path).toBe('/alerts/harness-sink');
    expect(resolved.receivedAt).toBeGreaterThanOrEqual(before);
    expect(sink.notifications().map((n) => n.payload.status)).toEqual(['firing', 'resolved']);
    const listed = (await (await fetch(`${sink.url}/notifications`)).json()) as unknown[];
    expect(listed).toHaveLength(2);
  });

  it('rejects bodies that are not webhook payloads, and records nothing', async () => {
    await using sink = await AlertSink.start();
    expect((await post(sink.url, 'not json')).status).toBe(400);
    expect((await post(sink.url, '{"alerts": 3}')).status).toBe(400);
    expect(sink.notifications()).toHaveLength(0);
  });

  it('times out a waiter with how many notifications it saw', async () => {
    await using sink = await AlertSink.start();
    await expect(sink.waitFor(() => true, 50)).rejects.toThrow(
      'no matching alert notification within 50 ms (0 received so far)',
    );
  });

  it('exposes the probe gauge in the Prometheus text format', async () => {
    await using sink = await AlertSink.start();
    sink.setProbe('doctor', 1);
    const text = await (await fetch(`${sink.url}/metrics`)).text();
    expect(text).toContain('# TYPE chatim_slo_alert_probe gauge');
    expect(text).toContain('chatim_slo_alert_probe{probe="doctor"} 1\n');
    expect(() => sink.setProbe('bad"name', 1)).toThrow('must be letters');
  });

  it('stops waiting when aborted, and rejects waiters still pending when it closes', async () => {
    const sink = await AlertSink.start();
    const controller = new AbortController();
    const aborted = sink.waitFor(() => true, 60_000, controller.signal);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(InterruptedError);
    const pending = sink.waitFor(() => true, 60_000);
    await sink.close();
    await expect(pending).rejects.toThrow('the alert sink was closed');
  });
});
