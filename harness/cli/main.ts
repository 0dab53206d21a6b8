import { exitCodeOf, formatError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { DOCTOR_USAGE, doctorCommand } from './doctor-command.ts';
import type { CliIO, CommandContext } from './io.ts';
import { STACK_USAGE, stackCommand } from './stack-command.ts';
import { TOOLS_USAGE, toolsCommand } from './tools-command.ts';

export const USAGE = `chatim-slo: load testing and SLO verification for ChatIM

usage:
${[TOOLS_USAGE, STACK_USAGE, DOCTOR_USAGE].join('\n')}
chatim-slo help             this text

Exit codes are listed in README.md ("Exit codes").`;

/**
 * Turns SIGINT/SIGTERM into an AbortSignal: the first signal aborts (everything started is torn
 * down); a second one exits at once, and the process 'exit' hooks SIGKILL any child left.
 */
function processSignal(stderr: NodeJS.WritableStream): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      stderr.write(`\n${name} again: exiting now\n`);
      process.exit(ExitCode.Interrupted);
    }
    stderr.write(`\n${name}: stopping and tearing down (again to force)\n`);
    controller.abort(new Error(name));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export async function main(io: CliIO): Promise<number> {
  const own = io.signal ? undefined : processSignal(io.stderr);
  const signal = io.signal ?? own!.signal;
  const ctx: CommandContext = {
    io,
    signal,
    out: (line) => io.stdout.write(`${line}\n`),
    err: (line) => io.stderr.write(`${line}\n`),
  };
  const [command, ...rest] = io.argv;
  try {
    switch (command) {
      case 'tools':
        return await toolsCommand(ctx, rest);
      case 'stack':
        return await stackCommand(ctx, rest);
      case 'doctor':
        return await doctorCommand(ctx, rest);
      case 'help':
      case '--help':
      case '-h':
        ctx.out(USAGE);
        return ExitCode.Pass;
      case undefined:
        ctx.err(USAGE);
        return ExitCode.InvalidConfig;
      default:
        ctx.err(`unknown command "${command}"\n\n${USAGE}`);
        return ExitCode.InvalidConfig;
    }
  } catch (err) {
    ctx.err(formatError(err));
    return exitCodeOf(err);
  } finally {
    own?.dispose();
  }
}
