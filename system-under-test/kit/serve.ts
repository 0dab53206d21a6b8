/**
 * What every `server.ts` does and nothing else: read the config, build the app, listen on
 * 127.0.0.1 (main, metrics and, when enabled, debug port), and on SIGTERM/SIGINT stop accepting,
 * let in-flight work finish, close connections and exit within 10 s.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ConfigError, loadConfig, type ServiceConfig, type ServiceName } from './config.ts';
import { buildDebugApp } from './debug.ts';
import { Faults } from './faults.ts';
import { Metrics } from './metrics.ts';

export const HOST = '127.0.0.1';
const SHUTDOWN_DEADLINE_MS = 9_000;

export interface Kit {
  readonly metrics: Metrics;
  readonly faults: Faults;
}

export interface Built {
  readonly app: FastifyInstance;
  /** After the app stopped taking requests: drain workers, close clients. */
  stop(): Promise<void>;
}

/** The metrics port: `GET /metrics` in Prometheus text format, nothing else. */
export function startMetricsServer(
  metrics: Metrics,
  port: number,
  host: string = HOST,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

export async function serve(
  service: ServiceName,
  build: (config: ServiceConfig, kit: Kit) => Promise<Built>,
): Promise<void> {
  let config: ServiceConfig;
  try {
    config = loadConfig(service, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const metrics = new Metrics(service);
  const faults = new Faults(metrics);
  const built = await build(config, { metrics, faults });
  const metricsServer = await startMetricsServer(metrics, config.metricsPort, config.listenHost);
  const debugApp = config.debug ? buildDebugApp({ token: config.debug.token, faults, service }) : undefined;
  if (debugApp && config.debug) await debugApp.listen({ host: HOST, port: config.debug.port });
  await built.app.listen({ host: config.listenHost, port: config.port });
  const port = (built.app.server.address() as AddressInfo).port;
  const mport = (metricsServer.address() as AddressInfo).port;
  built.app.log.info(
    { service, port, metricsPort: mport, debugPort: config.debug?.port },
    `${service} listening on ${config.listenHost}:${port} (metrics :${mport}${config.debug ? `, debug :${config.debug.port}` : ''})`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    built.app.log.info({ signal }, `${service} shutting down`);
    const deadline = setTimeout(() => {
      process.stderr.write(`${service}: shutdown took longer than ${SHUTDOWN_DEADLINE_MS} ms, exiting\n`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    try {
      await built.app.close();
      await built.stop();
      await debugApp?.close();
      faults.clear();
      const closed = new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      metricsServer.closeAllConnections();
      await closed;
      process.exit(0);
    } catch (err) {
      process.stderr.write(`${service}: shutdown failed: ${String(err)}\n`);
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}
