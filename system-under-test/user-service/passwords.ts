/**
 * Password hashing with scrypt from node:crypto (no native dependency; runs on the libuv pool, off
 * the event loop). Cost is tunable: N = 2^cost. The stored form carries its own parameters, so the
 * cost can change without invalidating existing hashes.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Histogram } from 'prom-client';

const KEY_LEN = 32;
const R = 8;

function scryptAsync(password: string, salt: Buffer, cost: number): Promise<Buffer> {
  const N = 2 ** cost;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LEN, { N, r: R, p: 1, maxmem: 256 * N * R }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export class Passwords {
  /** A hash of a random password, verified against when the username is unknown (no timing oracle). */
  #dummy: Promise<string> | undefined;

  constructor(
    readonly cost: number,
    private readonly timer: Histogram<'operation'>,
  ) {}

  async hash(password: string): Promise<string> {
    const end = this.timer.startTimer({ operation: 'hash' });
    try {
      const salt = randomBytes(16);
      const key = await scryptAsync(password, salt, this.cost);
      return `scrypt$${this.cost}$${salt.toString('base64url')}$${key.toString('base64url')}`;
    } finally {
      end();
    }
  }

  async verify(password: string, stored: string | undefined): Promise<boolean> {
    if (stored === undefined) {
      this.#dummy ??= this.hash(randomBytes(16).toString('hex'));
      stored = await this.#dummy;
    }
    const end = this.timer.startTimer({ operation: 'verify' });
    try {
      const [scheme, costText, saltText, keyText] = stored.split('$');
      if (scheme !== 'scrypt' || !costText || !saltText || !keyText) return false;
      const want = Buffer.from(keyText, 'base64url');
      const got = await scryptAsync(password, Buffer.from(saltText, 'base64url'), Number(costText));
      return got.length === want.length && timingSafeEqual(got, want);
    } finally {
      end();
    }
  }
}
