import { describe, expect, it } from 'vitest';
import {
  assemble,
  cut,
  DINGTALK_MAX_BODY_BYTES,
  dingTalkBody,
  formatDuration,
  formatTime,
  jsonBytes,
  utf8Bytes,
  WECOM_MAX_CONTENT_BYTES,
  weComBody,
} from './format.ts';
import { alert, payload, resolvedAlert } from './test-support.ts';

const UTC = { timeZone: 'UTC' };

describe('DingTalk markdown', () => {
  it('renders a firing alert with everything an on-call person needs', () => {
    const body = dingTalkBody(payload([alert()]), UTC);
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.title).toBe('[FIRING:1] HighHTTPErrorRate · critical · message-service');
    const text = body.markdown.text;
    expect(text).toContain('### 🔥 [FIRING:1] HighHTTPErrorRate');
    expect(text).toContain('#### 🔥 FIRING · HighHTTPErrorRate · critical');
    expect(text).toContain('**Summary:** HTTP 5xx ratio above 5% on message-service');
    expect(text).toContain('> 7.31% of requests failed over the last 5m (threshold 5%).');
    expect(text).toContain('- **Service:** message-service');
    expect(text).toContain('- **Job:** chatim-message');
    expect(text).toContain('- **Labels:** instance=127.0.0.1:3001');
    expect(text).toContain('- **Started:** 2025-03-01 12:00:00 UTC');
    expect(text).toContain('[Runbook](https://example.invalid/docs/runbooks/HighHTTPErrorRate.md)');
    expect(text).toContain('[Source](http://127.0.0.1:9090/graph?g0.expr=http_error_ratio)');
    expect(text).toContain('[Open Alertmanager](http://127.0.0.1:9093)');
    // Go's zero time for a firing alert's endsAt is not shown.
    expect(text).not.toContain('0001');
    expect(text).not.toContain('Resolved');
    expect(body.at).toBeUndefined();
  });

  it('renders a resolved notification as resolved, with when and how long', () => {
    const body = dingTalkBody(payload([resolvedAlert()]), UTC);
    expect(body.markdown.title).toBe('[RESOLVED:1] HighHTTPErrorRate · critical · message-service');
    const text = body.markdown.text;
    expect(text).toContain('### ✅ [RESOLVED:1] HighHTTPErrorRate');
    expect(text).toContain('#### ✅ RESOLVED · HighHTTPErrorRate · critical');
    expect(text).toContain('- **Resolved:** 2025-03-01 12:07:30 UTC (lasted 7m 30s)');
    expect(text).not.toMatch(/FIRING|🔥/);
  });

  it('puts firing alerts before resolved ones, most severe first, and counts both in the title', () => {
    const p = payload(
      [
        resolvedAlert({ labels: { alertname: 'ServiceDown', severity: 'critical', job: 'redis' } }),
        alert({ labels: { alertname: 'HighMemoryUsage', severity: 'warning', job: 'sut' } }),
        alert({ labels: { alertname: 'HighEventLoopLag', severity: 'critical', job: 'sut' } }),
      ],
      { groupLabels: { job: 'sut' } },
    );
    const body = dingTalkBody(p, UTC);
    expect(body.markdown.title).toBe('[FIRING:2 RESOLVED:1] HighEventLoopLag, HighMemoryUsage, ServiceDown');
    const order = ['HighEventLoopLag · critical', 'HighMemoryUsage · warning', 'RESOLVED · ServiceDown'].map(
      (s) => body.markdown.text.indexOf(s),
    );
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('shows times in the configured time zone', () => {
    const text = dingTalkBody(payload([alert()]), { timeZone: 'Asia/Shanghai' }).markdown.text;
    expect(text).toContain('- **Started:** 2025-03-01 20:00:00 Asia/Shanghai');
  });

  it('mentions the configured mobiles on firing notifications only', () => {
    const mentions = { atMobiles: ['13800000000', '13900000000'], atAll: false };
    const firing = dingTalkBody(payload([alert()]), { ...UTC, mentions });
    expect(firing.at).toEqual({ atMobiles: ['13800000000', '13900000000'], isAtAll: false });
    expect(firing.markdown.text).toContain('@13800000000 @13900000000');
    const resolved = dingTalkBody(payload([resolvedAlert()]), { ...UTC, mentions });
    expect(resolved.at).toBeUndefined();
    expect(resolved.markdown.text).not.toContain('@138');
  });

  it('leaves out what the alert does not have instead of printing "undefined"', () => {
    const bare = alert({ labels: { alertname: 'Bare' }, annotations: {}, generatorURL: '' });
    const text = dingTalkBody(payload([bare], { externalURL: '' }), UTC).markdown.text;
    expect(text).not.toMatch(/undefined|Summary|Runbook|Source|Service|Job|Alertmanager\]/);
    expect(text).toContain('#### 🔥 FIRING · Bare');
  });

  it('keeps a large group under 20000 bytes with a "… N more alerts" line that counts what was cut', () => {
    const alerts = Array.from({ length: 400 }, (_, i) =>
      alert({ labels: { alertname: 'HighActiveHandles', severity: 'warning', service: `服务-${i}` } }),
    );
    const body = dingTalkBody(payload(alerts, { truncatedAlerts: 7 }), UTC);
    const bytes = Buffer.byteLength(JSON.stringify(body));
    expect(bytes).toBeLessThanOrEqual(DINGTALK_MAX_BODY_BYTES);
    expect(bytes).toBeGreaterThan(DINGTALK_MAX_BODY_BYTES - 2000); // it used the room it had
    const shown = body.markdown.text.match(/#### 🔥/g)?.length ?? 0;
    expect(shown).toBeGreaterThan(0);
    expect(body.markdown.text).toContain(`**… ${400 - shown + 7} more alerts not shown** (see Alertmanager)`);
    expect(body.markdown.text.endsWith('[Open Alertmanager](http://127.0.0.1:9093)')).toBe(true);
  });

  it('reports alerts Alertmanager truncated (max_alerts) even when everything it sent fits', () => {
    const text = dingTalkBody(payload([alert()], { truncatedAlerts: 3 }), UTC).markdown.text;
    expect(text).toContain('**… 3 more alerts not shown**');
    expect(text).toContain('#### 🔥 FIRING · HighHTTPErrorRate');
  });

  it('cuts a single enormous alert instead of dropping it', () => {
    const huge = alert({ annotations: { summary: 'huge', description: 'x'.repeat(50_000) } });
    const body = dingTalkBody(payload([huge]), UTC);
    expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThanOrEqual(DINGTALK_MAX_BODY_BYTES);
    expect(body.markdown.text).toContain('#### 🔥 FIRING · HighHTTPErrorRate');
    expect(body.markdown.text).toContain('x…');
  });
});

describe('WeCom markdown', () => {
  it('renders a firing alert in WeCom colours', () => {
    const content = weComBody(payload([alert()]), UTC).markdown.content;
    expect(content).toContain('## <font color="warning">[FIRING:1]</font> HighHTTPErrorRate');
    expect(content).toContain('### <font color="warning">FIRING</font> HighHTTPErrorRate · critical');
    expect(content).toContain('**Summary:** HTTP 5xx ratio above 5% on message-service');
    expect(content).toContain('> 7.31% of requests failed over the last 5m (threshold 5%).');
    expect(content).toContain('**Service:** message-service · **Job:** chatim-message');
    expect(content).toContain('**Started:** 2025-03-01 12:00:00 UTC');
    expect(content).toContain('[Runbook](https://example.invalid/docs/runbooks/HighHTTPErrorRate.md)');
  });

  it('renders a resolved notification as resolved', () => {
    const content = weComBody(payload([resolvedAlert()]), UTC).markdown.content;
    expect(content).toContain('## <font color="info">[RESOLVED:1]</font> HighHTTPErrorRate');
    expect(content).toContain('**Resolved:** 2025-03-01 12:07:30 UTC (lasted 7m 30s)');
    expect(content).not.toMatch(/FIRING|warning/);
  });

  it('keeps content within 4096 UTF-8 bytes (not characters) with CJK text', () => {
    const alerts = Array.from({ length: 60 }, (_, i) =>
      alert({
        labels: { alertname: 'RedisStreamBacklog', severity: 'warning', service: `消息服务-${i}` },
        annotations: {
          summary: '持久化队列积压超过阈值',
          description: '当前积压 12345 条消息,已持续 10 分钟。',
        },
      }),
    );
    const content = weComBody(payload(alerts), UTC).markdown.content;
    expect(utf8Bytes(content)).toBeLessThanOrEqual(WECOM_MAX_CONTENT_BYTES);
    expect(content.length).toBeLessThan(WECOM_MAX_CONTENT_BYTES); // characters < bytes: CJK is 3 bytes each
    const shown = content.match(/### <font/g)?.length ?? 0;
    expect(shown).toBeGreaterThan(0);
    expect(content).toContain(`<font color="comment">… ${60 - shown} more alerts not shown</font>`);
  });
});

describe('assemble', () => {
  const parts = {
    header: 'H',
    footer: 'F',
    truncatedByAlertmanager: 0,
    marker: (n: number) => `+${n}`,
    separator: '|',
  };

  it('returns everything when it fits, and no marker', () => {
    expect(assemble({ ...parts, sections: ['aa', 'bb'] }, 100, utf8Bytes)).toBe('H|aa|bb|F');
  });

  it('keeps whole sections in order and reserves room for the marker', () => {
    // 'H|aa|bb|cc|F' is 12; limit 10 keeps aa, bb? H|aa|bb|+1|F = 12 > 10, so only aa: H|aa|+2|F = 9.
    expect(assemble({ ...parts, sections: ['aa', 'bb', 'cc'] }, 10, utf8Bytes)).toBe('H|aa|+2|F');
  });

  it('never exceeds the limit, even when the header alone is too big', () => {
    const out = assemble({ ...parts, header: 'h'.repeat(100), sections: ['s'] }, 20, utf8Bytes);
    expect(utf8Bytes(out)).toBeLessThanOrEqual(20);
  });
});

describe('helpers', () => {
  it('cut keeps whole code points and fits the measure', () => {
    expect(cut('你好世界', 7, utf8Bytes)).toBe('你…'); // 3 + 3 (ellipsis) ≤ 7 < 3 + 3 + 3
    expect(cut('short', 10, utf8Bytes)).toBe('short');
    expect(cut('😀😀', 3, (s) => s.length)).toBe('😀…'); // never half a surrogate pair
  });

  it('jsonBytes counts JSON escapes and adds up over concatenation', () => {
    expect(jsonBytes('a"b\n')).toBe(6);
    expect(jsonBytes('你')).toBe(3);
    expect(jsonBytes('a"b') + jsonBytes('\n你')).toBe(jsonBytes('a"b\n你'));
  });

  it('formats durations and times', () => {
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(450_000)).toBe('7m 30s');
    expect(formatDuration(3_723_000)).toBe('1h 2m');
    expect(formatDuration(2 * 86_400_000 + 3 * 3_600_000)).toBe('2d 3h');
    expect(formatTime(new Date('2025-12-31T23:59:59Z'), 'Asia/Shanghai')).toBe(
      '2026-01-01 07:59:59 Asia/Shanghai',
    );
  });
});
