/**
 * The process exit codes of every chatim-slo command: one documented enum, so CI can tell
 * "the system missed its objective" apart from "the test could not decide" and "the tool is broken".
 * README.md ("Exit codes") lists the same table; test/exit-codes.test.ts keeps the two in sync.
 */
export const ExitCode = {
  /** Every check held (every SLO passed, every alert expectation met, every doctor check ok). */
  Pass: 0,
  /** At least one SLO was measured and missed its objective. */
  SloFailed: 1,
  /** Not enough data to decide at least one SLO (missing series, scrape gaps); never counted as a pass. */
  Inconclusive: 2,
  /** A chaos expectation failed: an alert did not fire, fired when it must not, or did not resolve. */
  AlertExpectationFailed: 3,
  /** Invalid configuration or command line: nothing was run. */
  InvalidConfig: 4,
  /** Tooling or environment error: a tool is missing, a component failed to start, a doctor check failed. */
  Environment: 5,
  /** A bug in chatim-slo itself (an unexpected exception). */
  Internal: 70,
  /** Interrupted by SIGINT/SIGTERM; everything started was torn down. */
  Interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeName(code: number): string {
  for (const [name, value] of Object.entries(ExitCode)) if (value === code) return name;
  return `unknown (${code})`;
}
