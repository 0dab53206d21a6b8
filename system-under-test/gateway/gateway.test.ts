/** Pure-logic tests of the gateway pieces: tokens and the rate limiter. */
import { describe, expect, it } from 'vitest';
import { RateLimiter } from './app.ts';
import { signToken, verifyToken } from './jwt.ts';

const SECRET = 'a-test-secret-that-is-long-enough-123';

describe('JWT HS256', () => {
  it('round-trips the original claim names', () => {
    const { token, claims } = signToken('u1', SECRET, 60, 1_000_000);
    expect(verifyToken(token, SECRET, 1_000_000)).toEqual({ ok: true, claims });
    expect(claims).toMatchObject({ user_id: 'u1', iat: 1000, exp: 1060 });
  });

  it('rejects expiry, a wrong secret, tampering, alg none and garbage', () => {
    const { token } = signToken('u1', SECRET, 60, 1_000_000);
    const [h, p] = token.split('.') as [string, string, string];
    expect(verifyToken(token, SECRET, 1_060_000)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyToken(token, `${SECRET}x`, 1_000_000)).toEqual({ ok: false, reason: 'invalid' });
    const forged = Buffer.from(JSON.stringify({ user_id: 'admin', iat: 1000, exp: 9e9, jti: 'x' })).toString(
      'base64url',
    );
    expect(verifyToken(`${h}.${forged}.${token.split('.')[2]}`, SECRET, 1_000_000)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    const none = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url');
    expect(verifyToken(`${none}.${p}.`, SECRET, 1_000_000)).toEqual({ ok: false, reason: 'invalid' });
    expect(verifyToken('not-a-token', SECRET).ok).toBe(false);
    expect(verifyToken('a.b.c', SECRET)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('RateLimiter', () => {
  it('allows the burst, then refills at the rate', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 3, () => now);
    expect([1, 2, 3, 4].map(() => limiter.take('u'))).toEqual([true, true, true, false]);
    expect(limiter.take('other')).toBe(true); // per user
    now = 500; // one token back at 2/s
    expect([limiter.take('u'), limiter.take('u')]).toEqual([true, false]);
  });

  it('is off at rate 0', () => {
    const limiter = new RateLimiter(0, 1);
    expect(Array.from({ length: 10 }, () => limiter.take('u')).every(Boolean)).toBe(true);
  });
});
