import type { AlertmanagerWebhookAlert, AlertmanagerWebhookPayload } from '../../harness/stack/alert-sink.ts';

/**
 * Pure rendering of an Alertmanager webhook payload into the robots' markdown messages. Alerts are
 * ordered firing first, then by severity and start time, so when a message has to be cut to the
 * platform's size limit the most urgent alerts survive and a visible "… N more alerts" line says
 * what was dropped (including alerts Alertmanager itself left out through `max_alerts`).
 */

/** DingTalk rejects request bodies above 20000 bytes (errcode 460101 "message too long"). */
export const DINGTALK_MAX_BODY_BYTES = 20_000;
/** WeCom rejects markdown.content above 4096 UTF-8 bytes (errcode 40058). */
export const WECOM_MAX_CONTENT_BYTES = 4096;
/** Longest DingTalk title (it is the notification preview line, not the message). */
const MAX_TITLE_CHARS = 120;

export interface FormatOptions {
  /** IANA time zone for startsAt/endsAt. */
  readonly timeZone: string;
}

export interface DingTalkMentions {
  readonly atMobiles: readonly string[];
  readonly atAll: boolean;
}

export interface DingTalkMarkdownBody {
  msgtype: 'markdown';
  markdown: { title: string; text: string };
  at?: { atMobiles: string[]; isAtAll: boolean };
}

export interface WeComMarkdownBody {
  msgtype: 'markdown';
  markdown: { content: string };
}

type Status = 'firing' | 'resolved';

interface AlertView {
  readonly status: Status;
  readonly alertname: string;
  readonly severity: string | undefined;
  readonly service: string | undefined;
  readonly job: string | undefined;
  readonly otherLabels: readonly (readonly [string, string])[];
  readonly summary: string | undefined;
  readonly description: string | undefined;
  readonly runbookUrl: string | undefined;
  readonly generatorUrl: string | undefined;
  readonly startsAt: Date | undefined;
  readonly endsAt: Date | undefined;
}

const SHOWN_LABELS = new Set(['alertname', 'severity', 'service', 'job']);
const SEVERITY_RANK: Record<string, number> = {
  critical: 0,
  page: 0,
  error: 1,
  warning: 2,
  ticket: 2,
  info: 3,
};

/** The DingTalk robot request body, at most DINGTALK_MAX_BODY_BYTES once JSON-encoded. */
export function dingTalkBody(
  payload: AlertmanagerWebhookPayload,
  options: FormatOptions & { mentions?: DingTalkMentions; maxBodyBytes?: number },
): DingTalkMarkdownBody {
  const alerts = orderedAlerts(payload);
  const firing = payload.status === 'firing';
  const mentions = options.mentions;
  const mentionOn = firing && mentions !== undefined && (mentions.atMobiles.length > 0 || mentions.atAll);
  const title = cut(titleOf(payload, alerts), MAX_TITLE_CHARS, (s) => s.length);
  const body: DingTalkMarkdownBody = { msgtype: 'markdown', markdown: { title, text: '' } };
  if (mentionOn) body.at = { atMobiles: [...mentions.atMobiles], isAtAll: mentions.atAll };
  // The text's budget is what the envelope leaves; JSON escaping is per character, so jsonBytes adds up.
  const envelope = Buffer.byteLength(JSON.stringify(body));
  const limit = (options.maxBodyBytes ?? DINGTALK_MAX_BODY_BYTES) - envelope;

  const icon = firing ? '🔥' : '✅';
  const headerLines = [`### ${icon} ${statusTag(alerts)} ${oneLine(groupName(payload, alerts))}`];
  const context = contextLine(payload);
  if (context !== '') headerLines.push(context);
  const footer: string[] = [];
  if (payload.externalURL) footer.push(`[Open Alertmanager](${payload.externalURL})`);
  // DingTalk only notifies a mentioned mobile when the text contains "@<mobile>".
  if (mentionOn && mentions.atMobiles.length > 0)
    footer.push(mentions.atMobiles.map((m) => `@${m}`).join(' '));

  body.markdown.text = assemble(
    {
      header: headerLines.join('\n\n'),
      sections: alerts.map((a) => dingTalkSection(a, options.timeZone)),
      footer: footer.join('\n\n'),
      truncatedByAlertmanager: payload.truncatedAlerts ?? 0,
      marker: (n) => `**… ${n} more alert${n === 1 ? '' : 's'} not shown** (see Alertmanager)`,
      separator: '\n\n---\n\n',
    },
    limit,
    jsonBytes,
  );
  return body;
}

/** The WeCom group-robot request body; markdown.content is at most WECOM_MAX_CONTENT_BYTES. */
export function weComBody(
  payload: AlertmanagerWebhookPayload,
  options: FormatOptions & { maxContentBytes?: number },
): WeComMarkdownBody {
  const alerts = orderedAlerts(payload);
  const firing = payload.status === 'firing';
  const color = firing ? 'warning' : 'info';
  const headerLines = [
    `## <font color="${color}">${statusTag(alerts)}</font> ${oneLine(groupName(payload, alerts))}`,
  ];
  const context = contextLine(payload);
  if (context !== '') headerLines.push(context);
  const content = assemble(
    {
      header: headerLines.join('\n'),
      sections: alerts.map((a) => weComSection(a, options.timeZone)),
      footer: payload.externalURL ? `[Open Alertmanager](${payload.externalURL})` : '',
      truncatedByAlertmanager: payload.truncatedAlerts ?? 0,
      marker: (n) => `<font color="comment">… ${n} more alert${n === 1 ? '' : 's'} not shown</font>`,
      separator: '\n\n',
    },
    options.maxContentBytes ?? WECOM_MAX_CONTENT_BYTES,
    utf8Bytes,
  );
  return { msgtype: 'markdown', markdown: { content } };
}

function dingTalkSection(alert: AlertView, timeZone: string): string {
  const blocks: string[] = [];
  const icon = alert.status === 'firing' ? '🔥' : '✅';
  blocks.push(`#### ${icon} ${headline(alert)}`);
  if (alert.summary) blocks.push(`**Summary:** ${oneLine(alert.summary)}`);
  if (alert.description) blocks.push(quote(alert.description));
  const items: string[] = [];
  if (alert.service) items.push(`- **Service:** ${oneLine(alert.service)}`);
  if (alert.job) items.push(`- **Job:** ${oneLine(alert.job)}`);
  if (alert.otherLabels.length > 0) items.push(`- **Labels:** ${labelList(alert.otherLabels)}`);
  items.push(...timeItems(alert, timeZone).map((t) => `- ${t}`));
  if (items.length > 0) blocks.push(items.join('\n'));
  const links = linkLine(alert);
  if (links !== '') blocks.push(links);
  return blocks.join('\n\n');
}

function weComSection(alert: AlertView, timeZone: string): string {
  const color = alert.status === 'firing' ? 'warning' : 'info';
  const lines: string[] = [];
  lines.push(`### <font color="${color}">${alert.status.toUpperCase()}</font> ${headline(alert, false)}`);
  if (alert.summary) lines.push(`**Summary:** ${oneLine(alert.summary)}`);
  if (alert.description) lines.push(quote(alert.description));
  const who: string[] = [];
  if (alert.service) who.push(`**Service:** ${oneLine(alert.service)}`);
  if (alert.job) who.push(`**Job:** ${oneLine(alert.job)}`);
  if (who.length > 0) lines.push(who.join(' · '));
  if (alert.otherLabels.length > 0) {
    lines.push(`<font color="comment">Labels: ${labelList(alert.otherLabels)}</font>`);
  }
  lines.push(...timeItems(alert, timeZone));
  const links = linkLine(alert);
  if (links !== '') lines.push(links);
  return lines.join('\n');
}

function headline(alert: AlertView, withStatus = true): string {
  const parts = withStatus ? [alert.status.toUpperCase()] : [];
  parts.push(oneLine(alert.alertname));
  if (alert.severity) parts.push(oneLine(alert.severity));
  return parts.join(' · ');
}

function timeItems(alert: AlertView, timeZone: string): string[] {
  const items: string[] = [];
  if (alert.startsAt) items.push(`**Started:** ${formatTime(alert.startsAt, timeZone)}`);
  if (alert.status === 'resolved' && alert.endsAt) {
    const lasted =
      alert.startsAt && alert.endsAt >= alert.startsAt
        ? ` (lasted ${formatDuration(alert.endsAt.getTime() - alert.startsAt.getTime())})`
        : '';
    items.push(`**Resolved:** ${formatTime(alert.endsAt, timeZone)}${lasted}`);
  }
  return items;
}

function linkLine(alert: AlertView): string {
  const links: string[] = [];
  if (alert.runbookUrl) links.push(`[Runbook](${alert.runbookUrl})`);
  if (alert.generatorUrl) links.push(`[Source](${alert.generatorUrl})`);
  return links.join(' · ');
}

function contextLine(payload: AlertmanagerWebhookPayload): string {
  const parts: string[] = [];
  const group = Object.entries(payload.groupLabels ?? {});
  if (group.length > 0) parts.push(`**Group:** ${labelList(group)}`);
  if (payload.receiver) parts.push(`**Receiver:** ${oneLine(payload.receiver)}`);
  return parts.join(' · ');
}

/** `[FIRING:2]`, `[RESOLVED:1]` or `[FIRING:2 RESOLVED:1]`. */
function statusTag(alerts: readonly AlertView[]): string {
  const firing = alerts.filter((a) => a.status === 'firing').length;
  const resolved = alerts.length - firing;
  const parts: string[] = [];
  if (firing > 0) parts.push(`FIRING:${firing}`);
  if (resolved > 0) parts.push(`RESOLVED:${resolved}`);
  return `[${parts.join(' ') || 'EMPTY'}]`;
}

function titleOf(payload: AlertmanagerWebhookPayload, alerts: readonly AlertView[]): string {
  const parts = [`${statusTag(alerts)} ${oneLine(groupName(payload, alerts))}`];
  const severity = payload.commonLabels?.severity;
  if (severity) parts.push(oneLine(severity));
  const service = payload.commonLabels?.service ?? payload.commonLabels?.job;
  if (service) parts.push(oneLine(service));
  return parts.join(' · ');
}

/** The common alertname, or the distinct ones (at most three, then "+N more"). */
function groupName(payload: AlertmanagerWebhookPayload, alerts: readonly AlertView[]): string {
  const common = payload.commonLabels?.alertname ?? payload.groupLabels?.alertname;
  if (common) return common;
  const names = [...new Set(alerts.map((a) => a.alertname))];
  if (names.length <= 3) return names.join(', ');
  return `${names.slice(0, 3).join(', ')} +${names.length - 3} more`;
}

function orderedAlerts(payload: AlertmanagerWebhookPayload): AlertView[] {
  const views = payload.alerts.map(viewOf);
  return views
    .map((view, index) => ({ view, index }))
    .sort(
      (a, b) =>
        statusRank(a.view) - statusRank(b.view) ||
        severityRank(a.view) - severityRank(b.view) ||
        (a.view.startsAt?.getTime() ?? 0) - (b.view.startsAt?.getTime() ?? 0) ||
        a.index - b.index,
    )
    .map((x) => x.view);
}

function statusRank(alert: AlertView): number {
  return alert.status === 'firing' ? 0 : 1;
}

function severityRank(alert: AlertView): number {
  return alert.severity === undefined ? 4 : (SEVERITY_RANK[alert.severity.toLowerCase()] ?? 4);
}

function viewOf(alert: AlertmanagerWebhookAlert): AlertView {
  const labels = alert.labels ?? {};
  const annotations = alert.annotations ?? {};
  return {
    status: alert.status === 'resolved' ? 'resolved' : 'firing',
    alertname: labels.alertname ?? '(no alertname)',
    severity: labels.severity || undefined,
    service: labels.service || undefined,
    job: labels.job || undefined,
    otherLabels: Object.entries(labels)
      .filter(([k]) => !SHOWN_LABELS.has(k))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    summary: annotations.summary || undefined,
    description: annotations.description || undefined,
    runbookUrl: annotations.runbook_url || undefined,
    generatorUrl: alert.generatorURL || undefined,
    startsAt: parseTime(alert.startsAt),
    endsAt: parseTime(alert.endsAt),
  };
}

/** Alertmanager sends Go's zero time (0001-01-01T00:00:00Z) for "not set". */
function parseTime(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() <= 1) return undefined;
  return date;
}

/** `2025-03-01 20:04:05 Asia/Shanghai`. */
export function formatTime(date: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '??';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')} ${timeZone}`;
}

/** `1h 2m 3s`, `45s`, `2d 3h`. */
export function formatDuration(ms: number): string {
  let seconds = Math.round(ms / 1000);
  const days = Math.floor(seconds / 86_400);
  seconds -= days * 86_400;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  const parts: string[] = [];
  if (days > 0) parts.push(`${days}d`);
  if (hours > 0) parts.push(`${hours}h`);
  if (minutes > 0 && days === 0) parts.push(`${minutes}m`);
  if ((seconds > 0 || parts.length === 0) && days === 0 && hours === 0) parts.push(`${seconds}s`);
  return parts.join(' ');
}

function labelList(entries: readonly (readonly [string, string])[]): string {
  return entries.map(([k, v]) => `${k}=${oneLine(v)}`).join(', ');
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function quote(text: string): string {
  return text
    .trim()
    .split(/\r?\n/)
    .map((line) => `> ${line.trim()}`)
    .join('\n');
}

interface Parts {
  readonly header: string;
  readonly sections: readonly string[];
  readonly footer: string;
  /** Alerts Alertmanager did not send at all (`truncatedAlerts`, from `max_alerts`). */
  readonly truncatedByAlertmanager: number;
  readonly marker: (omitted: number) => string;
  readonly separator: string;
}

/**
 * Joins header, sections and footer so that `measure(result) <= limit`. Sections are kept in order
 * while they fit (room is reserved for the "… N more" marker); if not even the first fits, it is
 * cut. `measure` must add up over concatenation (UTF-8 bytes and JSON-escaped bytes both do).
 */
export function assemble(parts: Parts, limit: number, measure: (s: string) => number): string {
  const join = (sections: readonly string[], omitted: number) =>
    [parts.header, ...sections, omitted > 0 ? parts.marker(omitted) : '', parts.footer]
      .filter((s) => s !== '')
      .join(parts.separator);
  const everything = join(parts.sections, parts.truncatedByAlertmanager);
  if (measure(everything) <= limit) return everything;

  const sep = measure(parts.separator);
  const reserve = sep + measure(parts.marker(parts.sections.length + parts.truncatedByAlertmanager));
  const fixed = measure(parts.header) + (parts.footer === '' ? 0 : sep + measure(parts.footer));
  const budget = limit - fixed - reserve;
  const kept: string[] = [];
  let used = 0;
  for (const section of parts.sections) {
    const cost = sep + measure(section);
    if (used + cost > budget) break;
    kept.push(section);
    used += cost;
  }
  const first = parts.sections[0];
  if (kept.length === 0 && first !== undefined && budget - sep > 64) {
    kept.push(cut(first, budget - sep, measure));
  }
  const result = join(kept, parts.sections.length - kept.length + parts.truncatedByAlertmanager);
  // Only a header or footer bigger than the whole limit gets here; cut the message itself.
  return measure(result) <= limit ? result : cut(result, limit, measure);
}

/** The longest prefix of `text` (whole code points) that, with a trailing "…", measures at most `limit`. */
export function cut(text: string, limit: number, measure: (s: string) => number): string {
  if (measure(text) <= limit) return text;
  const ellipsis = '…';
  let budget = limit - measure(ellipsis);
  let out = '';
  for (const char of text) {
    const cost = measure(char);
    if (cost > budget) break;
    out += char;
    budget -= cost;
  }
  return budget >= 0 ? out + ellipsis : '';
}

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Bytes the string takes inside a JSON document (escapes included, quotes excluded). */
export function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;
}
