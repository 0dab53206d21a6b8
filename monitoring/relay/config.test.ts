import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../harness/errors.ts';
import { ExitCode } from '../../harness/exit-codes.ts';
import { loadRelayConfig, RELAY_DEFAULTS, routeName } from './config.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'relay-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadRelayConfig({ env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(ExitCode.InvalidConfig);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('relay config', () => {
  it('reads named robots, with secrets and URLs from files, and applies defaults', () => {
    const config = loadRelayConfig({
      env: {
        PATH: '/usr/bin', // unrelated variables are ignored
        RELAY_DINGTALK_OPS_TEAM_URL: 'https://oapi.dingtalk.com/robot/send?access_token=tok1',
        RELAY_DINGTALK_OPS_TEAM_SECRET_FILE: file('ops.secret', 'SECfromfile\n'),
        RELAY_DINGTALK_OPS_TEAM_AT_MOBILES: '13800000000, 13900000000',
        RELAY_DINGTALK_DEV_URL_FILE: file(
          'dev.url',
          'https://oapi.dingtalk.com/robot/send?access_token=tok2\n',
        ),
        RELAY_DINGTALK_DEV_AT_ALL: 'true',
        RELAY_WECOM_OPS_URL: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-1',
      },
    });
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(RELAY_DEFAULTS.port);
    expect(config.upstreamTimeoutMs).toBe(10_000);
    expect(config.maxBodyBytes).toBe(4 * 1024 * 1024);
    expect(config.timeZone).toBe('UTC');
    expect([...config.dingtalk.keys()]).toEqual(['dev', 'ops-team']);
    expect(config.dingtalk.get('ops-team')).toEqual({
      channel: 'dingtalk',
      name: 'ops-team',
      url: 'https://oapi.dingtalk.com/robot/send?access_token=tok1',
      secret: 'SECfromfile',
      atMobiles: ['13800000000', '13900000000'],
      atAll: false,
    });
    expect(config.dingtalk.get('dev')).toMatchObject({
      url: 'https://oapi.dingtalk.com/robot/send?access_token=tok2',
      secret: undefined,
      atAll: true,
    });
    expect(config.wecom.get('ops')).toEqual({
      channel: 'wecom',
      name: 'ops',
      url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-1',
    });
  });

  it('reads the global settings', () => {
    const config = loadRelayConfig({
      env: {
        RELAY_LISTEN_HOST: '0.0.0.0',
        RELAY_PORT: '0',
        RELAY_UPSTREAM_TIMEOUT_MS: '2500',
        RELAY_MAX_BODY_BYTES: '65536',
        RELAY_TIMEZONE: 'Asia/Shanghai',
        RELAY_WECOM_A_URL: 'http://127.0.0.1:1/cgi-bin/webhook/send?key=k',
      },
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      upstreamTimeoutMs: 2500,
      maxBodyBytes: 65536,
      timeZone: 'Asia/Shanghai',
    });
  });

  it('lists every problem in one error, without echoing credentials', () => {
    const problems = problemsOf({
      RELAY_PORT: 'eighty',
      RELAY_UPSTREAM_TIMEOUT_MS: '0',
      RELAY_TIMEZONE: 'Mars/Olympus',
      RELAY_DINGTALK_OPS_URL: 'https://oapi.dingtalk.com/robot/send?access_token=tok',
      RELAY_DINGTALK_OPS_SECRET: 'SECinline',
      RELAY_DINGTALK_OPS_SECRET_FILE: file('dup.secret', 'SECdup'),
      RELAY_DINGTALK_NOURL_SECRET: 'SECx',
      RELAY_DINGTALK_BADURL_URL: 'not a url with token-SECRETVALUE',
      RELAY_DINGTALK_NOTOKEN_URL: 'https://oapi.dingtalk.com/robot/send',
      RELAY_DINGTALK_MISSING_URL_FILE: path.join(dir, 'does-not-exist'),
      RELAY_DINGTALK_EMPTY_URL_FILE: file('empty', '\n'),
      RELAY_DINGTALK_PRESIGNED_URL: 'https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1&sign=x',
      RELAY_DINGTALK_MOB_URL: 'https://oapi.dingtalk.com/robot/send?access_token=t',
      RELAY_DINGTALK_MOB_AT_MOBILES: '138-0000-0000,call-me',
      RELAY_DINGTALK_MOB_AT_ALL: 'yes',
      RELAY_WECOM_OPS_URL: 'ftp://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k',
      RELAY_WECOM_OPS_SECRET: 'WeCom robots are not signed',
      RELAY_DINGTLAK_TYPO_URL: 'https://x',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'RELAY_PORT="eighty" must be an integer from 0 to 65535',
        'RELAY_UPSTREAM_TIMEOUT_MS="0" must be an integer from 50 to 120000',
        'RELAY_TIMEZONE="Mars/Olympus" is not an IANA time zone (e.g. UTC, Asia/Shanghai)',
        'set only one of RELAY_DINGTALK_OPS_SECRET and RELAY_DINGTALK_OPS_SECRET_FILE',
        'RELAY_DINGTALK_NOURL_URL (or RELAY_DINGTALK_NOURL_URL_FILE) is required for the dingtalk robot "nourl"',
        'RELAY_DINGTALK_BADURL_URL is not a valid URL',
        'RELAY_DINGTALK_NOTOKEN_URL (https://oapi.dingtalk.com/robot/send) has no access_token query parameter',
        expect.stringMatching(/^RELAY_DINGTALK_MISSING_URL_FILE: cannot read ".*does-not-exist" \(ENOENT\)$/),
        expect.stringMatching(/^RELAY_DINGTALK_EMPTY_URL_FILE: ".*empty" is empty$/),
        'RELAY_DINGTALK_PRESIGNED_URL already has timestamp/sign parameters: give the plain robot URL and the secret separately',
        'RELAY_DINGTALK_MOB_AT_MOBILES: "call-me" is not a phone number',
        'RELAY_DINGTALK_MOB_AT_ALL="yes" must be true or false',
        'RELAY_WECOM_OPS_URL must be an http(s) URL, not ftp:',
        expect.stringMatching(/^RELAY_WECOM_OPS_SECRET is not a relay variable/),
        expect.stringMatching(/^RELAY_DINGTLAK_TYPO_URL is not a relay variable/),
      ]),
    );
    expect(problems).toHaveLength(15);
    expect(problems.join('\n')).not.toContain('SECRETVALUE');
  });

  it('refuses to start with no robot at all', () => {
    expect(problemsOf({ RELAY_PORT: '8060' })).toEqual([
      'no robot is configured: set at least one RELAY_DINGTALK_<NAME>_URL or RELAY_WECOM_<NAME>_URL',
    ]);
  });

  it('maps env names to route names', () => {
    expect(routeName('OPS_TEAM_2')).toBe('ops-team-2');
  });
});
