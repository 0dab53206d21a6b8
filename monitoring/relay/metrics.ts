import type { Channel } from './config.ts';

export const NOTIFICATIONS_METRIC = 'chatim_relay_notifications_total';

/** `sent`: the robot accepted it; `failed`: the robot or the network did not (502); `rejected`: invalid request (400/413). */
export const NOTIFICATION_STATUSES = ['sent', 'failed', 'rejected'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/**
 * The relay's own counters, held per relay instance (no global registry) and exposed in the
 * Prometheus text format. Only configured targets appear as label values, so an unknown path
 * cannot create series; every configured combination starts at 0 so `rate()` sees the first event.
 */
export class RelayMetrics {
  readonly #counts = new Map<string, number>();
  readonly #order: { channel: Channel; target: string; status: NotificationStatus }[] = [];

  constructor(targets: readonly { channel: Channel; name: string }[]) {
    for (const { channel, name } of targets) {
      for (const status of NOTIFICATION_STATUSES) {
        this.#order.push({ channel, target: name, status });
        this.#counts.set(key(channel, name, status), 0);
      }
    }
  }

  count(channel: Channel, target: string, status: NotificationStatus): void {
    const k = key(channel, target, status);
    const current = this.#counts.get(k);
    if (current === undefined)
      throw new Error(`no metric series for ${k}: only configured targets are counted`);
    this.#counts.set(k, current + 1);
  }

  get(channel: Channel, target: string, status: NotificationStatus): number {
    return this.#counts.get(key(channel, target, status)) ?? 0;
  }

  exposition(): string {
    const lines = [
      `# HELP ${NOTIFICATIONS_METRIC} Alertmanager notifications handled by the relay, by channel, robot target and outcome (sent, failed, rejected).`,
      `# TYPE ${NOTIFICATIONS_METRIC} counter`,
      ...this.#order.map(
        ({ channel, target, status }) =>
          `${NOTIFICATIONS_METRIC}{channel="${escapeLabelValue(channel)}",target="${escapeLabelValue(target)}",status="${status}"} ${this.get(channel, target, status)}`,
      ),
    ];
    return `${lines.join('\n')}\n`;
  }
}

function key(channel: string, target: string, status: string): string {
  return `${channel}/${target}/${status}`;
}

function escapeLabelValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}
