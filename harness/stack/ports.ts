import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** Ports handed out by this process recently, so two stacks started side by side never get the same one. */
const handedOut = new Set<number>();

/** Lowest port we pick from; below it live well-known services and their conventional ports. */
const FLOOR = 10_000;

/** The kernel's ephemeral range (source ports of outgoing connections), e.g. [32768, 60999]. */
export function ephemeralRange(text?: string): [number, number] {
  const raw = text ?? readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
  const [lo, hi] = raw.trim().split(/\s+/).map(Number);
  return lo && hi && lo <= hi ? [lo, hi] : [32_768, 60_999];
}

/**
 * Where we pick listening ports: outside the ephemeral range, so no outgoing connection of any
 * process can take a port as its source port between our check and the child's bind.
 */
export function candidateRange(ephemeral: [number, number]): [number, number] | undefined {
  const [lo, hi] = ephemeral;
  if (lo - 1 - FLOOR >= 1000) return [FLOOR, lo - 1];
  if (65_535 - (hi + 1) >= 1000) return [hi + 1, 65_535];
  return undefined;
}

function tryListen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * Reserves `count` distinct free ports on 127.0.0.1: random ports outside the kernel's ephemeral
 * range, each proven free by binding it. The listeners are closed before returning (the children
 * bind them next); picking outside the ephemeral range keeps other processes' outgoing connections
 * off them, and random picks from a range of ~20 000 make two harness processes choosing the same
 * port unlikely. A component that still loses a race fails with its name and log. Falls back to
 * kernel-chosen (port 0) ports when the machine leaves no room outside the ephemeral range.
 */
export async function allocatePorts(count: number): Promise<number[]> {
  const range = candidateRange(ephemeralRange());
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    let attempts = 0;
    while (ports.length < count) {
      if (++attempts > count * 50) throw new Error(`could not find ${count} free ports on 127.0.0.1`);
      const wanted = range ? range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1)) : 0;
      if (handedOut.has(wanted)) continue;
      const server = await tryListen(wanted);
      if (!server) continue;
      servers.push(server);
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
  const server = await tryListen(port);
  if (!server) return false;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return true;
}
