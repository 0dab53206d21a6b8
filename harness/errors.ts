import { ExitCode } from './exit-codes.ts';

/**
 * An error meant for a person: what failed, where, and what to do next (the hint), plus the exit
 * code the CLI ends with. Anything that is not a HarnessError reaching the CLI is a bug (exit 70).
 */
export class HarnessError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(message: string, options: { exitCode: ExitCode; hint?: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HarnessError';
    this.exitCode = options.exitCode;
    this.hint = options.hint;
  }
}

/** Invalid configuration or command line; lists every problem found, not only the first. */
export class ConfigError extends HarnessError {
  readonly problems: readonly string[];

  constructor(what: string, problems: readonly string[], hint?: string) {
    super(`${what}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      exitCode: ExitCode.InvalidConfig,
      ...(hint === undefined ? {} : { hint }),
    });
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Raised when SIGINT/SIGTERM aborted an operation; everything started has been torn down. */
export class InterruptedError extends HarnessError {
  constructor(what: string) {
    super(`interrupted while ${what}`, { exitCode: ExitCode.Interrupted });
    this.name = 'InterruptedError';
  }
}

export function formatError(err: unknown): string {
  if (err instanceof HarnessError) {
    return err.hint === undefined ? `error: ${err.message}` : `error: ${err.message}\nhint: ${err.hint}`;
  }
  if (err instanceof Error) return `internal error (a bug in chatim-slo): ${err.stack ?? err.message}`;
  return `internal error (a bug in chatim-slo): ${String(err)}`;
}

export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof HarnessError ? err.exitCode : ExitCode.Internal;
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new InterruptedError(what);
}
