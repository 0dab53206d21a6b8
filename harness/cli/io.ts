/** Process state a command runs against; injected so tests can use buffers and their own signals. */
export interface CliIO {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Aborted on SIGINT/SIGTERM; main() creates it from the process signals when not given. */
  readonly signal?: AbortSignal;
}

export interface CommandContext {
  readonly io: CliIO;
  readonly signal: AbortSignal;
  /** Human progress and tables: stdout. */
  out(line: string): void;
  /** Diagnostics: stderr. */
  err(line: string): void;
}
