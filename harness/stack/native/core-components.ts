import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { harnessAlertmanagerConfig } from '../../../monitoring/alertmanager/harness.ts';
import { toYaml } from '../../../monitoring/generated.ts';
import { prometheusConfig } from '../../../monitoring/prometheus/config.ts';
import { harnessRuleGroups } from '../../../monitoring/rules/harness.ts';
import { toolByName } from '../../tools/manifest.ts';
import { exec } from '../../util/exec.ts';
import { httpOk } from '../wait.ts';
import type { ComponentContext, NativeComponent } from './component.ts';
import { getJson, redisPing } from './probes.ts';

/** Component names of the core stack; the SUT's services join this list as entries of their own. */
export const CORE = {
  redis: 'redis',
  postgres: 'postgres',
  toxiproxy: 'toxiproxy',
  redisExporter: 'redis-exporter',
  postgresExporter: 'postgres-exporter',
  alertmanager: 'alertmanager',
  prometheus: 'prometheus',
} as const;

/** The Toxiproxy proxies every stack has; clients of the stack connect through them. */
export const PROXIES = { redis: 'redis', postgres: 'postgres' } as const;

const local = (port: number) => `127.0.0.1:${port}`;

const redis: NativeComponent = {
  name: CORE.redis,
  ports: ['main'],
  dependsOn: [],
  tools: ['redis-server'],
  process: (ctx) => ({
    command: toolByName('redis-server').binary,
    args: [
      '--bind',
      '127.0.0.1',
      '--port',
      String(ctx.port(CORE.redis)),
      '--dir',
      ctx.dir,
      // Append-only file on, so a restart (chaos) keeps the data; no RDB snapshots.
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
      '--logfile',
      '',
      ...(ctx.options.extraArgs?.[CORE.redis] ?? []),
    ],
    cwd: ctx.dir,
  }),
  ready: (ctx) => redisPing(ctx.port(CORE.redis)),
};

interface UnixUser {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root; when we are root it runs as the `postgres` user the package creates. */
function postgresUser(): UnixUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let fields: string[] = [];
  try {
    fields = execFileSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).trim().split(':');
  } catch {
    // handled below
  }
  if (fields.length < 4) {
    throw new Error(
      'running as root, but there is no `postgres` user to run PostgreSQL as (is postgresql installed?)',
    );
  }
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

async function chownTree(dir: string, user: UnixUser): Promise<void> {
  await chown(dir, user.uid, user.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(full, user);
    else await chown(full, user.uid, user.gid);
  }
}

const pgBin = (name: string) => path.join(path.dirname(toolByName('postgres').binary), name);
const pgData = (ctx: ComponentContext) => path.join(ctx.dir, 'pgdata');
let pgUserCache: { user: UnixUser | undefined } | undefined;
const pgUser = () => {
  pgUserCache ??= { user: postgresUser() };
  return pgUserCache.user;
};

const postgres: NativeComponent = {
  name: CORE.postgres,
  ports: ['main'],
  dependsOn: [],
  tools: ['postgres', 'initdb'],
  async prepare(ctx) {
    const user = pgUser();
    const pwfile = path.join(ctx.dir, 'pwfile');
    await writeFile(pwfile, `${ctx.secrets.postgresPassword}\n`, { mode: 0o600 });
    if (user) {
      // The unprivileged user must be able to reach its data directory inside the stack directory.
      await chmod(ctx.stackDir, 0o711);
      await chmod(path.dirname(ctx.dir), 0o711);
      await chownTree(ctx.dir, user);
    }
    const r = await exec(
      toolByName('initdb').binary,
      [
        '-D',
        pgData(ctx),
        '-U',
        ctx.secrets.postgresUser,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      { cwd: ctx.dir, ...(user ? { uid: user.uid, gid: user.gid } : {}), timeoutMs: 60_000 },
    );
    if (r.code !== 0)
      throw new Error(`initdb failed (exit ${r.code}):\n${r.stderr.trim() || r.stdout.trim()}`);
  },
  process(ctx) {
    const user = pgUser();
    return {
      command: toolByName('postgres').binary,
      args: [
        '-D',
        pgData(ctx),
        '-p',
        String(ctx.port(CORE.postgres)),
        '-h',
        '127.0.0.1',
        // TCP only: no Unix socket in /var/run/postgresql, so a system PostgreSQL is never touched.
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=200',
        ...(ctx.options.extraArgs?.[CORE.postgres] ?? []),
      ],
      cwd: ctx.dir,
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      // Fast shutdown: the postmaster ends its backends itself.
      stopSignal: 'SIGINT',
    };
  },
  async ready(ctx) {
    const r = await exec(
      pgBin('pg_isready'),
      ['-h', '127.0.0.1', '-p', String(ctx.port(CORE.postgres)), '-t', '1'],
      {
        timeoutMs: 3000,
      },
    );
    if (r.code !== 0) throw new Error(`pg_isready: ${r.stdout.trim() || `exit ${r.code}`}`);
    return true;
  },
  async afterReady(ctx) {
    const r = await exec(
      pgBin('createdb'),
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(ctx.port(CORE.postgres)),
        '-U',
        ctx.secrets.postgresUser,
        ctx.secrets.postgresDatabase,
      ],
      { env: { ...process.env, PGPASSWORD: ctx.secrets.postgresPassword }, timeoutMs: 30_000 },
    );
    if (r.code !== 0) throw new Error(`createdb failed (exit ${r.code}): ${r.stderr.trim()}`);
  },
};

const toxiproxy: NativeComponent = {
  name: CORE.toxiproxy,
  ports: ['api', PROXIES.redis, PROXIES.postgres],
  dependsOn: [],
  tools: ['toxiproxy-server'],
  scrape: { job: 'toxiproxy', port: 'api' },
  async prepare(ctx) {
    const proxies = [
      {
        name: PROXIES.redis,
        listen: local(ctx.port(CORE.toxiproxy, PROXIES.redis)),
        upstream: local(ctx.port(CORE.redis)),
        enabled: true,
      },
      {
        name: PROXIES.postgres,
        listen: local(ctx.port(CORE.toxiproxy, PROXIES.postgres)),
        upstream: local(ctx.port(CORE.postgres)),
        enabled: true,
      },
    ];
    await writeFile(path.join(ctx.dir, 'proxies.json'), `${JSON.stringify(proxies, null, 2)}\n`);
  },
  process: (ctx) => ({
    command: toolByName('toxiproxy-server').binary,
    args: [
      '-host',
      '127.0.0.1',
      '-port',
      String(ctx.port(CORE.toxiproxy, 'api')),
      '-config',
      path.join(ctx.dir, 'proxies.json'),
      '-proxy-metrics',
      '-runtime-metrics',
      ...(ctx.options.extraArgs?.[CORE.toxiproxy] ?? []),
    ],
    cwd: ctx.dir,
  }),
  async ready(ctx) {
    const proxies = await getJson<Record<string, { enabled: boolean }>>(
      `http://${local(ctx.port(CORE.toxiproxy, 'api'))}/proxies`,
    );
    return Object.values(PROXIES).every((name) => proxies[name]?.enabled === true);
  },
};

const redisExporter: NativeComponent = {
  name: CORE.redisExporter,
  ports: ['main'],
  // Through the proxy, like the SUT: the exporter sees the dependency the way the services do, so
  // cutting the link (chaos) makes redis_up drop to 0.
  dependsOn: [CORE.toxiproxy, CORE.redis],
  tools: ['redis-exporter'],
  scrape: { job: 'redis' },
  process: (ctx) => ({
    command: toolByName('redis-exporter').binary,
    args: [
      '-redis.addr',
      redisUrlFor(ctx),
      '-web.listen-address',
      local(ctx.port(CORE.redisExporter)),
      ...(ctx.options.extraArgs?.[CORE.redisExporter] ?? []),
    ],
    cwd: ctx.dir,
  }),
  ready: (ctx) => httpOk(`http://${local(ctx.port(CORE.redisExporter))}/metrics`),
};

const postgresExporter: NativeComponent = {
  name: CORE.postgresExporter,
  ports: ['main'],
  dependsOn: [CORE.toxiproxy, CORE.postgres],
  tools: ['postgres-exporter'],
  scrape: { job: 'postgres' },
  process: (ctx) => ({
    command: toolByName('postgres-exporter').binary,
    args: [
      `--web.listen-address=${local(ctx.port(CORE.postgresExporter))}`,
      ...(ctx.options.extraArgs?.[CORE.postgresExporter] ?? []),
    ],
    env: {
      DATA_SOURCE_NAME: `${postgresUrlFor(ctx)}?sslmode=disable`,
    },
    cwd: ctx.dir,
  }),
  ready: (ctx) => httpOk(`http://${local(ctx.port(CORE.postgresExporter))}/metrics`),
};

const alertmanager: NativeComponent = {
  name: CORE.alertmanager,
  ports: ['main'],
  dependsOn: [],
  tools: ['alertmanager'],
  scrape: { job: 'alertmanager' },
  async prepare(ctx) {
    await writeFile(
      path.join(ctx.dir, 'alertmanager.yml'),
      toYaml(
        harnessAlertmanagerConfig({ sinkUrl: ctx.alertSinkUrl, profile: ctx.profile }),
        'monitoring/alertmanager/harness.ts',
      ),
    );
  },
  process(ctx) {
    const address = local(ctx.port(CORE.alertmanager));
    return {
      command: toolByName('alertmanager').binary,
      args: [
        `--config.file=${path.join(ctx.dir, 'alertmanager.yml')}`,
        `--storage.path=${path.join(ctx.dir, 'data')}`,
        `--web.listen-address=${address}`,
        `--web.external-url=http://${address}/`,
        // Single node: an empty cluster address disables clustering (no gossip port).
        '--cluster.listen-address=',
        ...(ctx.options.extraArgs?.[CORE.alertmanager] ?? []),
      ],
      cwd: ctx.dir,
    };
  },
  ready: (ctx) => httpOk(`http://${local(ctx.port(CORE.alertmanager))}/-/ready`),
};

const prometheus: NativeComponent = {
  name: CORE.prometheus,
  ports: ['main'],
  dependsOn: [CORE.alertmanager],
  tools: ['prometheus'],
  scrape: { job: 'prometheus' },
  async prepare(ctx) {
    const harnessRules = path.join(ctx.dir, 'harness-rules.yml');
    await writeFile(harnessRules, toYaml(harnessRuleGroups(), 'monitoring/rules/harness.ts'));
    await mkdir(path.join(ctx.dir, 'data'), { recursive: true });
    const config = prometheusConfig({
      profile: ctx.profile,
      targets: ctx.scrapeTargets(),
      alertmanagers: [local(ctx.port(CORE.alertmanager))],
      ruleFiles: [harnessRules, ...(ctx.options.ruleFiles ?? [])],
    });
    await writeFile(path.join(ctx.dir, 'prometheus.yml'), toYaml(config, 'monitoring/prometheus/config.ts'));
  },
  process(ctx) {
    const address = local(ctx.port(CORE.prometheus));
    return {
      command: toolByName('prometheus').binary,
      args: [
        `--config.file=${path.join(ctx.dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(ctx.dir, 'data')}`,
        `--web.listen-address=${address}`,
        `--web.external-url=http://${address}/`,
        '--web.enable-remote-write-receiver',
        '--web.enable-lifecycle',
        `--rules.alert.resend-delay=${ctx.profile.alertResendDelay}`,
        ...(ctx.options.extraArgs?.[CORE.prometheus] ?? []),
      ],
      cwd: ctx.dir,
    };
  },
  ready: (ctx) => httpOk(`http://${local(ctx.port(CORE.prometheus))}/-/ready`),
};

/** The core stack, in no particular order (the runtime orders by dependsOn). */
export function coreComponents(): NativeComponent[] {
  return [redis, postgres, toxiproxy, redisExporter, postgresExporter, alertmanager, prometheus];
}

/** Redis URL for a component of the stack: through the Toxiproxy proxy, like every client. */
export function redisUrlFor(ctx: ComponentContext): string {
  return `redis://${local(ctx.port(CORE.toxiproxy, PROXIES.redis))}`;
}

/** PostgreSQL URL for a component of the stack: through the Toxiproxy proxy, like every client. */
export function postgresUrlFor(ctx: ComponentContext): string {
  const s = ctx.secrets;
  return `postgresql://${s.postgresUser}:${encodeURIComponent(s.postgresPassword)}@${local(ctx.port(CORE.toxiproxy, PROXIES.postgres))}/${s.postgresDatabase}`;
}
