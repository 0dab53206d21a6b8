import { ExitCode } from '../exit-codes.ts';
import { checkTools, type ToolStatus } from '../tools/check.ts';
import { installTools } from '../tools/install.ts';
import { renderTable } from '../util/table.ts';
import { parseOptions } from './args.ts';
import type { CommandContext } from './io.ts';

export const TOOLS_USAGE = `chatim-slo tools install    install every pinned tool that is missing or at the wrong version
chatim-slo tools check      table of tool, wanted version, found version, path, ok
    --json                          print the table as JSON`;

export function toolsTable(statuses: readonly ToolStatus[]): string {
  return renderTable(
    ['tool', 'wanted', 'found', 'path', 'ok'],
    statuses.map((s) => [
      s.tool.name,
      s.tool.version,
      s.found ?? '-',
      s.tool.binary,
      s.ok ? 'ok' : `NO: ${s.problem ?? ''}`,
    ]),
  );
}

function toolsJson(statuses: readonly ToolStatus[]): string {
  return JSON.stringify(
    statuses.map((s) => ({
      tool: s.tool.name,
      kind: s.tool.kind,
      wanted: s.tool.version,
      found: s.found ?? null,
      path: s.tool.binary,
      ok: s.ok,
      problem: s.problem ?? null,
    })),
    null,
    2,
  );
}

export async function toolsCommand(ctx: CommandContext, args: readonly string[]): Promise<ExitCode> {
  const [sub, ...rest] = args;
  if (sub === 'check') {
    const opts = parseOptions('tools check', rest, { json: { type: 'boolean', description: 'JSON output' } });
    const statuses = await checkTools();
    ctx.out(opts.json ? toolsJson(statuses) : toolsTable(statuses));
    return statuses.every((s) => s.ok) ? ExitCode.Pass : ExitCode.Environment;
  }
  if (sub === 'install') {
    parseOptions('tools install', rest, {});
    const result = await installTools({ log: ctx.out, signal: ctx.signal });
    if (result.installed.length === 0)
      ctx.out(`all ${result.statuses.length} tools present at their pinned versions`);
    else ctx.out(toolsTable(result.statuses));
    return ExitCode.Pass;
  }
  ctx.err(`usage:\n${TOOLS_USAGE}`);
  return ExitCode.InvalidConfig;
}
