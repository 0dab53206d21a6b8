import { runDoctor } from '../doctor.ts';
import { ExitCode } from '../exit-codes.ts';
import { installTools } from '../tools/install.ts';
import { formatMs, renderTable } from '../util/table.ts';
import { describeOptions, type OptionSpec, parseOptions } from './args.ts';
import type { CommandContext } from './io.ts';

const DOCTOR_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print the report as JSON' },
};

export const DOCTOR_USAGE = `chatim-slo doctor           check tools, start the stack, verify targets and the alert path, tear down
${describeOptions(DOCTOR_OPTIONS)}`;

export async function doctorCommand(ctx: CommandContext, args: readonly string[]): Promise<ExitCode> {
  const opts = parseOptions('doctor', args, DOCTOR_OPTIONS);
  await installTools({ log: ctx.out, signal: ctx.signal });
  const report = await runDoctor({ signal: ctx.signal, log: opts.json ? () => {} : ctx.out });
  if (opts.json) {
    ctx.out(JSON.stringify(report, null, 2));
  } else {
    ctx.out('');
    ctx.out(
      renderTable(
        ['check', 'result', 'time', 'detail'],
        report.checks.map((c) => [
          c.name,
          { ok: 'ok', failed: 'FAIL', skipped: 'skipped' }[c.status],
          formatMs(c.ms),
          c.detail.replace(/\n[\s\S]*/, ' …'),
        ]),
      ),
    );
    const failed = report.checks.filter((c) => c.status === 'failed');
    for (const c of failed) ctx.err(`\n${c.name} failed:\n${c.detail}`);
    ctx.out(failed.length === 0 ? '\nall checks passed' : `\n${failed.length} check(s) failed`);
  }
  return report.ok ? ExitCode.Pass : ExitCode.Environment;
}
