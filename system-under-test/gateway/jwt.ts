/**
 * HS256 access tokens (RFC 7519) with node:crypto: no dependency, constant-time signature check,
 * `alg` pinned (a token claiming `none` or RS256 is invalid), expiry enforced.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

export interface Claims {
  /** The original ChatIM claim name. */
  user_id: string;
  iat: number;
  exp: number;
  /** Token id, for revocation on logout. */
  jti: string;
}

export type VerifyResult =
  | { ok: true; claims: Claims }
  | { ok: false; reason: 'malformed' | 'invalid' | 'expired' };

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

function sign(data: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

export function signToken(
  userId: string,
  secret: string,
  ttlSeconds: number,
  nowMs = Date.now(),
): { token: string; claims: Claims } {
  const iat = Math.floor(nowMs / 1000);
  const claims: Claims = { user_id: userId, iat, exp: iat + ttlSeconds, jti: randomUUID() };
  const body = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return { token: `${body}.${sign(body, secret).toString('base64url')}`, claims };
}

export function verifyToken(token: string, secret: string, nowMs = Date.now()): VerifyResult {
  if (token.length > 4096) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [h, p, s] = parts as [string, string, string];
  let header: unknown;
  let claims: Partial<Claims>;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Partial<Claims>;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if ((header as { alg?: unknown })?.alg !== 'HS256') return { ok: false, reason: 'invalid' };
  const want = sign(`${h}.${p}`, secret);
  const got = Buffer.from(s, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, reason: 'invalid' };
  if (
    typeof claims !== 'object' ||
    claims === null ||
    typeof claims.user_id !== 'string' ||
    typeof claims.exp !== 'number' ||
    typeof claims.iat !== 'number' ||
    typeof claims.jti !== 'string'
  ) {
    return { ok: false, reason: 'invalid' };
  }
  if (claims.exp * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, claims: claims as Claims };
}
