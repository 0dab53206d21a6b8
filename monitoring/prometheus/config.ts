import type { TimingProfile } from '../../harness/stack/profiles.ts';

/** One scrape job: the harness derives these from the stack's component list. */
export interface ScrapeTarget {
  readonly job: string;
  /** host:port */
  readonly address: string;
  readonly metricsPath?: string;
}

export interface PrometheusConfigInput {
  readonly profile: TimingProfile;
  readonly targets: readonly ScrapeTarget[];
  /** host:port of each Alertmanager. */
  readonly alertmanagers: readonly string[];
  readonly ruleFiles: readonly string[];
  readonly externalLabels?: Readonly<Record<string, string>>;
}

/** prometheus.yml as an object, for the runtime to write next to the data it configures. */
export function prometheusConfig(input: PrometheusConfigInput) {
  const jobs = new Map<string, ScrapeTarget[]>();
  for (const target of input.targets) jobs.set(target.job, [...(jobs.get(target.job) ?? []), target]);
  return {
    global: {
      scrape_interval: input.profile.scrapeInterval,
      scrape_timeout: input.profile.scrapeInterval,
      evaluation_interval: input.profile.evaluationInterval,
      external_labels: { cluster: 'chatim', environment: 'harness', ...input.externalLabels },
    },
    rule_files: [...input.ruleFiles],
    alerting: {
      alertmanagers: [{ static_configs: [{ targets: [...input.alertmanagers] }] }],
    },
    scrape_configs: [...jobs.entries()].map(([job, targets]) => ({
      job_name: job,
      metrics_path: targets[0]?.metricsPath ?? '/metrics',
      static_configs: [{ targets: targets.map((t) => t.address) }],
    })),
  };
}
