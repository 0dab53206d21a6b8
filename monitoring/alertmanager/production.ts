import { inhibitRules } from './inhibit.ts';

/**
 * The production Alertmanager config (monitoring/alertmanager/alertmanager.yml, generated).
 *
 * Receivers: e-mail and WeCom (企业微信, Alertmanager's native `wechat_configs`), DingTalk through
 * the relay (monitoring/relay). No secret is in the file: the SMTP password is read from a file
 * (`smtp_auth_password_file`), and the WeCom values, which Alertmanager 0.25 can only take inline,
 * are `${VAR}` placeholders that the deployment fills from the environment before start (compose.yaml
 * does it; docs/alerting.md says how elsewhere).
 */

export const RECEIVERS = {
  /** Everything without a more specific route: e-mail to the team. */
  default: 'team-email',
  /** Critical alerts: WeCom + DingTalk + e-mail, fast and repeated hourly. */
  critical: 'oncall-critical',
  /** Warnings: DingTalk chat only. */
  warning: 'team-chat',
} as const;

/** The placeholders a deployment must fill (never committed values). */
export const PLACEHOLDERS = [
  'WECOM_CORP_ID',
  'WECOM_API_SECRET',
  'WECOM_AGENT_ID',
  'WECOM_TO_PARTY',
] as const;

const env = (name: (typeof PLACEHOLDERS)[number]) => `\${${name}}`;

export interface ProductionAlertmanagerInput {
  /** Base URL of the DingTalk relay as Alertmanager reaches it. */
  readonly relayUrl: string;
  readonly smtpSmarthost: string;
  readonly smtpFrom: string;
  readonly teamEmail: string;
  readonly oncallEmail: string;
  /** Where the SMTP password file is mounted. */
  readonly smtpPasswordFile: string;
}

export const PRODUCTION_DEFAULTS: ProductionAlertmanagerInput = {
  relayUrl: 'http://dingtalk-relay:8060',
  smtpSmarthost: 'smtp.example.org:587',
  smtpFrom: 'chatim-alerts@example.org',
  teamEmail: 'chatim-team@example.org',
  oncallEmail: 'chatim-oncall@example.org',
  smtpPasswordFile: '/run/secrets/smtp_password',
};

export function productionAlertmanagerConfig(input: ProductionAlertmanagerInput = PRODUCTION_DEFAULTS) {
  return {
    global: {
      resolve_timeout: '5m',
      smtp_smarthost: input.smtpSmarthost,
      smtp_from: input.smtpFrom,
      smtp_auth_username: input.smtpFrom,
      smtp_auth_password_file: input.smtpPasswordFile,
      smtp_require_tls: true,
      wechat_api_corp_id: env('WECOM_CORP_ID'),
      wechat_api_secret: env('WECOM_API_SECRET'),
    },
    route: {
      receiver: RECEIVERS.default,
      group_by: ['alertname', 'severity', 'service'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      routes: [
        {
          matchers: ['severity="critical"'],
          receiver: RECEIVERS.critical,
          group_wait: '10s',
          group_interval: '1m',
          repeat_interval: '1h',
        },
        {
          matchers: ['severity="warning"'],
          receiver: RECEIVERS.warning,
          group_wait: '30s',
          repeat_interval: '4h',
        },
      ],
    },
    inhibit_rules: inhibitRules(),
    receivers: [
      {
        name: RECEIVERS.default,
        email_configs: [{ to: input.teamEmail, send_resolved: true }],
      },
      {
        name: RECEIVERS.critical,
        wechat_configs: [
          {
            send_resolved: true,
            agent_id: env('WECOM_AGENT_ID'),
            to_party: env('WECOM_TO_PARTY'),
            message: '{{ template "wechat.default.message" . }}',
          },
        ],
        webhook_configs: [{ url: `${input.relayUrl}/dingtalk/oncall`, send_resolved: true }],
        email_configs: [{ to: input.oncallEmail, send_resolved: true }],
      },
      {
        name: RECEIVERS.warning,
        webhook_configs: [{ url: `${input.relayUrl}/dingtalk/team`, send_resolved: true }],
      },
    ],
  };
}
