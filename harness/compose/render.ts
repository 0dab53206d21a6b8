import { prometheusConfig } from '../../monitoring/prometheus/config.ts';
import { TIMING_PROFILES } from '../stack/profiles.ts';
import { COMPOSE_SERVICES, type ComposeService } from './services.ts';

/** Generated files that compose.yaml mounts (repository paths). */
export const COMPOSE_FILES = {
  compose: 'compose.yaml',
  prometheus: 'monitoring/prometheus/prometheus.compose.yml',
  rules: 'monitoring/prometheus/rules',
  alertmanager: 'monitoring/alertmanager/alertmanager.yml',
  toxiproxy: 'monitoring/toxiproxy/proxies.compose.json',
  grafanaProvisioning: 'monitoring/grafana/provisioning',
  grafanaDashboards: 'monitoring/grafana/dashboards',
} as const;

/** `${NAME:?message}`: compose refuses to start without it (no weak defaults for secrets). */
const required = (name: string) => `\${${name}:?set ${name} in .env (see compose.env.example)}`;

const port = (service: string, name: string) => {
  const p = COMPOSE_SERVICES[service]?.ports[name];
  if (p === undefined) throw new Error(`compose service ${service} has no port ${name}`);
  return p;
};
const addr = (service: string, name = 'main') => `${service}:${port(service, name)}`;

const REDIS_URL = `redis://${addr('toxiproxy', 'redis')}`;
const POSTGRES_URL = `postgresql://chatim:${required('POSTGRES_PASSWORD')}@${addr('toxiproxy', 'postgres')}/chatim`;

/** Alertmanager 0.25 takes WeCom values only inline: fill the committed placeholders from the environment at start. */
const ALERTMANAGER_START = [
  'set -eu',
  "esc() { printf '%s' \"$$1\" | sed -e 's/[\\\\/&|]/\\\\&/g'; }",
  'sed -e "s|\\$${WECOM_CORP_ID}|$$(esc "$$WECOM_CORP_ID")|g"' +
    ' -e "s|\\$${WECOM_API_SECRET}|$$(esc "$$WECOM_API_SECRET")|g"' +
    ' -e "s|\\$${WECOM_AGENT_ID}|$$(esc "$$WECOM_AGENT_ID")|g"' +
    ' -e "s|\\$${WECOM_TO_PARTY}|$$(esc "$$WECOM_TO_PARTY")|g"' +
    ' /etc/alertmanager/alertmanager.yml > /tmp/alertmanager.yml',
  'exec /bin/alertmanager --config.file=/tmp/alertmanager.yml --storage.path=/alertmanager --web.external-url=http://localhost:9093/',
].join('\n');

function sutEnvironment(name: string, extra: Record<string, string>): Record<string, string> {
  return {
    NODE_ENV: 'production',
    CHATIM_ENV: 'production',
    CHATIM_LISTEN_HOST: '0.0.0.0',
    CHATIM_PORT: String(port(name, 'main')),
    CHATIM_METRICS_PORT: String(port(name, 'metrics')),
    CHATIM_DEBUG_PORT: String(port(name, 'debug')),
    CHATIM_DEBUG_TOKEN: required('CHATIM_DEBUG_TOKEN'),
    CHATIM_REDIS_URL: REDIS_URL,
    ...extra,
  };
}

const SPECIFIC: Record<string, Record<string, unknown>> = {
  redis: {
    command: ['redis-server', '--appendonly', 'yes', '--save', ''],
    volumes: ['redis-data:/data'],
  },
  postgres: {
    environment: {
      POSTGRES_USER: 'chatim',
      POSTGRES_PASSWORD: required('POSTGRES_PASSWORD'),
      POSTGRES_DB: 'chatim',
    },
    volumes: ['postgres-data:/var/lib/postgresql/data'],
  },
  toxiproxy: {
    command: ['-host=0.0.0.0', '-config=/config/proxies.json', '-proxy-metrics', '-runtime-metrics'],
    volumes: [`./${COMPOSE_FILES.toxiproxy}:/config/proxies.json:ro`],
  },
  'redis-exporter': { environment: { REDIS_ADDR: REDIS_URL } },
  'postgres-exporter': { environment: { DATA_SOURCE_NAME: `${POSTGRES_URL}?sslmode=disable` } },
  alertmanager: {
    entrypoint: ['/bin/sh', '-c', ALERTMANAGER_START],
    environment: Object.fromEntries(
      ['WECOM_CORP_ID', 'WECOM_API_SECRET', 'WECOM_AGENT_ID', 'WECOM_TO_PARTY'].map((n) => [n, required(n)]),
    ),
    volumes: [
      `./${COMPOSE_FILES.alertmanager}:/etc/alertmanager/alertmanager.yml:ro`,
      'alertmanager-data:/alertmanager',
    ],
    secrets: ['smtp_password'],
  },
  prometheus: {
    command: [
      '--config.file=/etc/prometheus/prometheus.yml',
      '--storage.tsdb.path=/prometheus',
      '--web.enable-remote-write-receiver',
      '--web.enable-lifecycle',
      '--rules.alert.resend-delay=1m',
    ],
    volumes: [
      `./${COMPOSE_FILES.prometheus}:/etc/prometheus/prometheus.yml:ro`,
      `./${COMPOSE_FILES.rules}:/etc/prometheus/rules:ro`,
      'prometheus-data:/prometheus',
    ],
  },
  'user-service': {
    environment: sutEnvironment('user-service', { CHATIM_POSTGRES_URL: POSTGRES_URL }),
  },
  'message-service': {
    environment: sutEnvironment('message-service', { CHATIM_POSTGRES_URL: POSTGRES_URL }),
  },
  gateway: {
    environment: sutEnvironment('gateway', {
      CHATIM_USER_SERVICE_URL: `http://${addr('user-service')}`,
      CHATIM_MESSAGE_SERVICE_URL: `http://${addr('message-service')}`,
      CHATIM_JWT_SECRET: required('CHATIM_JWT_SECRET'),
    }),
  },
  'dingtalk-relay': {
    environment: {
      RELAY_LISTEN_HOST: '0.0.0.0',
      RELAY_PORT: String(port('dingtalk-relay', 'main')),
      RELAY_DINGTALK_ONCALL_URL: required('RELAY_DINGTALK_ONCALL_URL'),
      RELAY_DINGTALK_ONCALL_SECRET: required('RELAY_DINGTALK_ONCALL_SECRET'),
      RELAY_DINGTALK_TEAM_URL: required('RELAY_DINGTALK_TEAM_URL'),
      RELAY_DINGTALK_TEAM_SECRET: required('RELAY_DINGTALK_TEAM_SECRET'),
    },
  },
  grafana: {
    environment: {
      GF_SECURITY_ADMIN_USER: 'admin',
      GF_SECURITY_ADMIN_PASSWORD: required('GRAFANA_ADMIN_PASSWORD'),
      GF_AUTH_ANONYMOUS_ENABLED: 'false',
      GF_ANALYTICS_REPORTING_ENABLED: 'false',
      GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
      GF_NEWS_NEWS_FEED_ENABLED: 'false',
    },
    volumes: [
      `./${COMPOSE_FILES.grafanaProvisioning}:/etc/grafana/provisioning:ro`,
      `./${COMPOSE_FILES.grafanaDashboards}:/var/lib/grafana/dashboards:ro`,
      'grafana-data:/var/lib/grafana',
    ],
  },
};

function service(name: string, spec: ComposeService) {
  const ports = Object.values(spec.ports);
  return {
    ...(spec.image
      ? { image: spec.image }
      : { build: { context: '.', dockerfile: 'Dockerfile' }, image: `chatim-slo/${name}:dev` }),
    ...(spec.entry ? { command: [spec.entry] } : {}),
    ...SPECIFIC[name],
    expose: ports.map(String),
    ...(spec.publish?.length
      ? { ports: spec.publish.map((p) => `127.0.0.1:${port(name, p)}:${port(name, p)}`) }
      : {}),
    ...(spec.dependsOn?.length ? { depends_on: [...spec.dependsOn] } : {}),
    restart: 'unless-stopped',
  };
}

export function composeFile() {
  return {
    services: Object.fromEntries(
      Object.entries(COMPOSE_SERVICES).map(([name, spec]) => [name, service(name, spec)]),
    ),
    volumes: Object.fromEntries(
      ['redis-data', 'postgres-data', 'alertmanager-data', 'prometheus-data', 'grafana-data'].map((v) => [
        v,
        {},
      ]),
    ),
    secrets: { smtp_password: { file: './secrets/smtp_password' } },
  };
}

/** Prometheus for compose: the same generator as the native stack, with the compose addresses. */
export function composePrometheusConfig() {
  return prometheusConfig({
    profile: TIMING_PROFILES.production,
    targets: Object.entries(COMPOSE_SERVICES).flatMap(([name, spec]) =>
      spec.scrape
        ? [
            {
              job: spec.scrape.job,
              address: addr(name, spec.scrape.port),
              metricsPath: spec.scrape.path ?? '/metrics',
            },
          ]
        : [],
    ),
    alertmanagers: [addr('alertmanager')],
    ruleFiles: ['/etc/prometheus/rules/alerts.production.yml'],
    externalLabels: { environment: 'compose' },
  });
}

export function composeToxiproxyConfig() {
  return [
    {
      name: 'redis',
      listen: `0.0.0.0:${port('toxiproxy', 'redis')}`,
      upstream: addr('redis'),
      enabled: true,
    },
    {
      name: 'postgres',
      listen: `0.0.0.0:${port('toxiproxy', 'postgres')}`,
      upstream: addr('postgres'),
      enabled: true,
    },
  ];
}

export function grafanaDatasource() {
  return {
    apiVersion: 1,
    datasources: [
      {
        name: 'Prometheus',
        uid: 'prometheus',
        type: 'prometheus',
        access: 'proxy',
        url: `http://${addr('prometheus')}`,
        isDefault: true,
        editable: false,
        jsonData: { timeInterval: TIMING_PROFILES.production.scrapeInterval, httpMethod: 'POST' },
      },
    ],
  };
}

export function grafanaDashboardProvider() {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'ChatIM',
        orgId: 1,
        folder: 'ChatIM',
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path: '/var/lib/grafana/dashboards' },
      },
    ],
  };
}
