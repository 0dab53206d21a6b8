import { createServer, type Server } from 'node:net';

/** Ports handed out by this process recently, so two stacks started side by side never get the same one. */
const handedOut = new Set<number>();

/**
 * Reserves `count` distinct free ports on 127.0.0.1 by binding port 0 and reading what the kernel
 * picked. The listeners are closed before returning, so a port can in theory be taken by someone
 * else before our child binds it; the kernel hands out ephemeral ports in a rotating order, which
 * makes that rare, and a component that loses the race fails with its name and log.
 */
export async function allocatePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('listener has no port');
      if (handedOut.has(address.port)) continue;
      handedOut.add(address.port);
      ports.push(address.port);
    }
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
  if (handedOut.size > 20_000) handedOut.clear();
  return ports;
}

/** True when nothing listens on 127.0.0.1:port (a bind succeeds). */
export async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  }
}
