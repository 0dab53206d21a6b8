import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { ExitCode } from '../exit-codes.ts';
import { NativeStackRuntime } from '../stack/native/runtime.ts';
import { fullStackComponents, SUT } from '../stack/native/sut-components.ts';
import { TIMING_PROFILES, type TimingProfileName } from '../stack/profiles.ts';
import type { StartedStack } from '../stack/types.ts';
import { installTools } from '../tools/install.ts';
import { formatMs, renderTable } from '../util/table.ts';
import { describeOptions, type OptionSpec, parseOptions } from './args.ts';
import type { CommandContext } from './io.ts';

const STACK_OPTIONS: Record<string, OptionSpec> = {
  profile: {
    type: 'string',
    description: 'timing profile (scrape/eval intervals); default fast',
    choices: Object.keys(TIMING_PROFILES),
  },
  keep: { type: 'boolean', description: 'keep data and logs after teardown (path is printed)' },
  json: { type: 'boolean', description: 'print the endpoints as one JSON line once ready' },
};

export const STACK_USAGE = `chatim-slo stack            start the whole stack (ChatIM services included) in the foreground; Ctrl-C tears it down
${describeOptions(STACK_OPTIONS)}`;

export function endpointTable(stack: StartedStack, debugToken?: string): string {
  const e = stack.endpoints;
  const sut = Object.values(SUT).flatMap((name) => {
    const handle = stack.components.get(name);
    if (!handle) return [];
    const p = handle.ports;
    return [
      ...(name === SUT.gateway
        ? [
            [name, `http://127.0.0.1:${p.main}/api/v1`, 'ChatIM REST API (OpenAPI: /api/v1/openapi.json)'],
            [name, `ws://127.0.0.1:${p.main}/ws`, 'ChatIM WebSocket push'],
          ]
        : [[name, `http://127.0.0.1:${p.main}/`, 'internal service (the gateway calls it)']]),
      [`${name} metrics`, `http://127.0.0.1:${p.metrics}/metrics`, 'Prometheus metrics'],
      [
        `${name} debug`,
        `http://127.0.0.1:${p.debug}/debug/pprof/`,
        debugToken
          ? `pprof + faults; header "Authorization: Bearer ${debugToken}"`
          : 'pprof + faults (token-protected)',
      ],
    ];
  });
  return renderTable(
    ['component', 'url', 'what'],
    [
      ...sut,
      ['prometheus', `${e.prometheus.url}/`, 'Prometheus UI and API (remote-write receiver on)'],
      ['alertmanager', `${e.alertmanager.url}/`, 'Alertmanager UI and API'],
      ['alert-sink', `${e.alertSink.url}/notifications`, 'every notification Alertmanager delivered'],
      ['toxiproxy', `${e.toxiproxy.url}/proxies`, 'Toxiproxy API (proxies: redis, postgres)'],
      ['redis', e.redis.url, `through Toxiproxy (direct port ${e.redis.directPort})`],
      ['postgres', e.postgres.url, `through Toxiproxy (direct port ${e.postgres.directPort})`],
      ['redis-exporter', `${e.redisExporter.url}/metrics`, 'redis_exporter metrics'],
      ['postgres-exporter', `${e.postgresExporter.url}/metrics`, 'postgres_exporter metrics'],
    ],
  );
}

export async function stackCommand(ctx: CommandContext, args: readonly string[]): Promise<ExitCode> {
  const opts = parseOptions('stack', args, STACK_OPTIONS);
  await installTools({ log: ctx.out, signal: ctx.signal });
  ctx.out('starting the stack …');
  const debugToken = randomBytes(18).toString('base64url');
  await using stack = await new NativeStackRuntime(() => fullStackComponents({ debugToken })).start({
    profile: (opts.profile as TimingProfileName | undefined) ?? 'fast',
    keep: opts.keep === true,
    signal: ctx.signal,
    log: ctx.out,
  });
  if (opts.json) ctx.out(JSON.stringify({ id: stack.id, dir: stack.dir, endpoints: stack.endpoints }));
  ctx.out(
    `\nstack ${stack.id} up in ${formatMs(stack.startupMs)} (profile ${stack.profile.name}; data in ${stack.dir})\n`,
  );
  ctx.out(endpointTable(stack, debugToken));
  ctx.out('\nPress Ctrl-C to stop and tear everything down.');
  if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
  ctx.out('stopping …');
  await stack.stop();
  ctx.out('stopped; no process left behind.');
  return ExitCode.Interrupted;
}
