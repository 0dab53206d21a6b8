/**
 * The fault switchboard chaos experiments flip through the debug port. Every fault has a time
 * limit (it clears itself), lives only in this process's memory (a restart clears it), and shows
 * as `chatim_fault_active{fault}` while on.
 */
import { createServer, type Server } from 'node:net';
import { ApiError } from './errors.ts';
import type { Metrics } from './metrics.ts';

export const FAULT_NAMES = [
  'error',
  'latency',
  'memory_leak',
  'handle_leak',
  'event_loop_block',
  'push_drop',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

/** Longest a fault may stay on (it must never outlive an experiment by much). */
export const MAX_FAULT_SECONDS = 3600;

export interface ErrorFault {
  /** Share of matching requests that fail, 0..1. */
  rate: number;
  /** HTTP status of the injected failure (500..599 or 429). */
  status: number;
  /** Only requests whose route template starts with this (default: every route but health checks). */
  route?: string | undefined;
}
export interface LatencyFault {
  ms: number;
  route?: string | undefined;
}
export interface MemoryLeakFault {
  mbPerSecond: number;
  capMb: number;
}
export interface HandleLeakFault {
  perSecond: number;
  cap: number;
}
export interface EventLoopBlockFault {
  /** Busy-wait this long ... */
  blockMs: number;
  /** ... every this many ms. */
  everyMs: number;
}
export interface PushDropFault {
  /** Share of push frames silently dropped, 0..1. */
  rate: number;
}

export interface FaultSettings {
  error: ErrorFault;
  latency: LatencyFault;
  memory_leak: MemoryLeakFault;
  handle_leak: HandleLeakFault;
  event_loop_block: EventLoopBlockFault;
  push_drop: PushDropFault;
}

interface Active<N extends FaultName> {
  settings: FaultSettings[N];
  until: number;
  timer: NodeJS.Timeout;
  cleanup: () => void;
}

const EXEMPT_ROUTES = new Set(['/healthz', '/readyz']);

export class Faults {
  readonly #active = new Map<FaultName, Active<FaultName>>();
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #gauge;

  constructor(metrics: Metrics, options: { random?: () => number; now?: () => number } = {}) {
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    this.#gauge = metrics.get('chatim_fault_active');
    for (const name of FAULT_NAMES) this.#gauge.set({ fault: name }, 0);
  }

  get anyActive(): boolean {
    return this.#active.size > 0;
  }

  /** Switches `name` on for `seconds` (replacing an active one of the same name). */
  set<N extends FaultName>(name: N, settings: FaultSettings[N], seconds: number): { until: number } {
    if (!(seconds > 0 && seconds <= MAX_FAULT_SECONDS)) {
      throw new ApiError('VALIDATION_FAILED', `seconds must be in (0, ${MAX_FAULT_SECONDS}]`);
    }
    this.clear(name);
    const until = this.#now() + seconds * 1000;
    const cleanup = this.#start(name, settings);
    const timer = setTimeout(() => this.clear(name), seconds * 1000);
    timer.unref();
    this.#active.set(name, { settings, until, timer, cleanup } as Active<FaultName>);
    this.#gauge.set({ fault: name }, 1);
    return { until };
  }

  clear(name?: FaultName): void {
    for (const n of name ? [name] : [...this.#active.keys()]) {
      const a = this.#active.get(n);
      if (!a) continue;
      clearTimeout(a.timer);
      a.cleanup();
      this.#active.delete(n);
      this.#gauge.set({ fault: n }, 0);
    }
  }

  list(): Record<string, { settings: unknown; until: number }> {
    return Object.fromEntries(
      [...this.#active].map(([n, a]) => [n, { settings: a.settings, until: a.until }]),
    );
  }

  get<N extends FaultName>(name: N): FaultSettings[N] | undefined {
    return this.#active.get(name)?.settings as FaultSettings[N] | undefined;
  }

  /** Request hook: injected latency first, then an injected error. */
  async onRequest(route: string): Promise<void> {
    if (EXEMPT_ROUTES.has(route)) return;
    const latency = this.get('latency');
    if (latency && (!latency.route || route.startsWith(latency.route))) {
      await new Promise((resolve) => setTimeout(resolve, latency.ms));
    }
    const error = this.get('error');
    if (error && (!error.route || route.startsWith(error.route)) && this.#random() < error.rate) {
      throw new ApiError('FAULT_INJECTED', undefined, error.status);
    }
  }

  /** Push path: true when this frame must be dropped. */
  dropPush(): boolean {
    const f = this.get('push_drop');
    return f !== undefined && this.#random() < f.rate;
  }

  #start(name: FaultName, settings: FaultSettings[FaultName]): () => void {
    switch (name) {
      case 'memory_leak': {
        const s = settings as MemoryLeakFault;
        const leaked: Buffer[] = [];
        const perTick = Math.max(1, Math.round((s.mbPerSecond * 1024 * 1024) / 10));
        const cap = s.capMb * 1024 * 1024;
        let total = 0;
        const t = setInterval(() => {
          if (total + perTick > cap) return;
          // Filled, so the pages are really resident (an untouched allocation may not be).
          leaked.push(Buffer.alloc(perTick, 1));
          total += perTick;
        }, 100);
        t.unref();
        return () => {
          clearInterval(t);
          leaked.length = 0;
        };
      }
      case 'handle_leak': {
        const s = settings as HandleLeakFault;
        const servers: Server[] = [];
        const t = setInterval(
          () => {
            if (servers.length >= s.cap) return;
            // A listening socket nobody closes: a real libuv handle and a file descriptor, as a
            // leaked connection would be (visible in chatim_nodejs_active_handles, chatim_process_open_fds).
            const server = createServer();
            server.on('error', () => {});
            server.listen(0, '127.0.0.1');
            servers.push(server);
          },
          Math.max(1, Math.round(1000 / s.perSecond)),
        );
        t.unref();
        return () => {
          clearInterval(t);
          for (const server of servers) server.close();
        };
      }
      case 'event_loop_block': {
        const s = settings as EventLoopBlockFault;
        const t = setInterval(() => {
          const end = performance.now() + s.blockMs;
          while (performance.now() < end) {
            // busy-wait: the event loop is blocked on purpose
          }
        }, s.everyMs);
        t.unref();
        return () => clearInterval(t);
      }
      default:
        return () => {};
    }
  }
}
