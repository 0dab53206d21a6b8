import { SCRAPE_JOBS } from '../../system-under-test/kit/metrics.ts';

/**
 * The stack as Docker Compose services, for people who want Grafana and everything in containers.
 * One entry per native component (same name, same named ports) plus the two services that exist
 * only there: Grafana (not packaged for Debian) and the DingTalk relay. compose.test.ts checks the
 * names and ports against the native component list, so the two runtimes cannot drift.
 */

export interface ComposeService {
  /** Native component of the same name, or why it exists only in compose. */
  readonly native: true | { readonly composeOnly: string };
  readonly image?: string;
  /** Built from the repository's Dockerfile, running this entry file. */
  readonly entry?: string;
  /** Container port per named port; the names are the native component's port names. */
  readonly ports: Readonly<Record<string, number>>;
  /** Named ports published on the host's 127.0.0.1 (same number). */
  readonly publish?: readonly string[];
  /** Prometheus scrape job and the named port it scrapes (as in the native component). */
  readonly scrape?: { readonly job: string; readonly port: string; readonly path?: string };
  readonly dependsOn?: readonly string[];
}

/** A ChatIM service built from the repository's Dockerfile. */
const sut = (
  entry: string,
  job: string,
  ports: { main: number; metrics: number; debug: number },
  dependsOn: string[],
): ComposeService => ({ native: true, entry, ports, scrape: { job, port: 'metrics' }, dependsOn });

export const COMPOSE_SERVICES: Readonly<Record<string, ComposeService>> = {
  redis: { native: true, image: 'redis:7.0', ports: { main: 6379 } },
  postgres: { native: true, image: 'postgres:15', ports: { main: 5432 } },
  toxiproxy: {
    native: true,
    image: 'ghcr.io/shopify/toxiproxy:2.12.0',
    ports: { api: 8474, redis: 26379, postgres: 25432 },
    scrape: { job: 'toxiproxy', port: 'api' },
    dependsOn: ['redis', 'postgres'],
  },
  'redis-exporter': {
    native: true,
    image: 'oliver006/redis_exporter:v1.45.0',
    ports: { main: 9121 },
    scrape: { job: 'redis', port: 'main' },
    dependsOn: ['toxiproxy'],
  },
  'postgres-exporter': {
    native: true,
    image: 'quay.io/prometheuscommunity/postgres-exporter:v0.11.1',
    ports: { main: 9187 },
    scrape: { job: 'postgres', port: 'main' },
    dependsOn: ['toxiproxy'],
  },
  alertmanager: {
    native: true,
    image: 'prom/alertmanager:v0.25.0',
    ports: { main: 9093 },
    publish: ['main'],
    scrape: { job: 'alertmanager', port: 'main' },
  },
  prometheus: {
    native: true,
    image: 'prom/prometheus:v2.42.0',
    ports: { main: 9090 },
    publish: ['main'],
    scrape: { job: 'prometheus', port: 'main' },
    dependsOn: ['alertmanager'],
  },
  'user-service': sut(
    'system-under-test/user-service/server.ts',
    SCRAPE_JOBS['user-service'],
    { main: 8081, metrics: 9465, debug: 6061 },
    ['toxiproxy'],
  ),
  'message-service': sut(
    'system-under-test/message-service/server.ts',
    SCRAPE_JOBS['message-service'],
    { main: 8082, metrics: 9466, debug: 6062 },
    ['toxiproxy', 'user-service'],
  ),
  gateway: {
    ...sut(
      'system-under-test/gateway/server.ts',
      SCRAPE_JOBS.gateway,
      { main: 8080, metrics: 9464, debug: 6060 },
      ['user-service', 'message-service'],
    ),
    publish: ['main'],
  },
  'dingtalk-relay': {
    native: {
      composeOnly:
        'turns Alertmanager notifications into DingTalk/WeCom robot messages (production receivers)',
    },
    entry: 'monitoring/relay/server.ts',
    ports: { main: 8060 },
    scrape: { job: 'dingtalk-relay', port: 'main' },
  },
  grafana: {
    native: {
      composeOnly: 'Grafana is not packaged for Debian; the native stack checks panel queries instead',
    },
    image: 'grafana/grafana-oss:11.6.0',
    ports: { main: 3000 },
    publish: ['main'],
    dependsOn: ['prometheus'],
  },
};
