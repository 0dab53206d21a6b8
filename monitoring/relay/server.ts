import { exitCodeOf, formatError } from '../../harness/errors.ts';
import { ExitCode } from '../../harness/exit-codes.ts';
import { buildRelay, type LogFields, type RelayLogger } from './app.ts';
import { loadRelayConfig } from './config.ts';

/**
 * Entry point: `node --import tsx monitoring/relay/server.ts`. Reads the configuration from the
 * environment (every problem at once, exit 4), listens, and on SIGTERM/SIGINT stops accepting and
 * lets in-flight notifications finish before exiting 0. Logs are JSON lines on stdout.
 */
function jsonLogger(write: (line: string) => void): RelayLogger {
  const log = (level: string) => (message: string, fields?: LogFields) =>
    write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`);
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

async function main(): Promise<number> {
  const logger = jsonLogger((line) => process.stdout.write(line));
  const config = loadRelayConfig({ env: process.env });
  const relay = buildRelay({ config, fetch: globalThis.fetch, clock: Date, logger });
  const url = await relay.listen();
  logger.info('relay listening', {
    url,
    dingtalk: [...config.dingtalk.keys()].join(',') || undefined,
    wecom: [...config.wecom.keys()].join(',') || undefined,
  });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info('stopping', { signal });
  // A second signal while draining ends the process at once.
  process.once(signal, () => process.exit(ExitCode.Interrupted));
  await relay.close();
  logger.info('stopped');
  return ExitCode.Pass;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${formatError(err)}\n`);
    process.exitCode = exitCodeOf(err);
  },
);
