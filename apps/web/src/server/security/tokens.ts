import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Prefixes make a leaked secret recognisable (and greppable) for what it is. */
export type TokenKind = 'session' | 'join' | 'agent' | 'csrf';
const PREFIX: Record<TokenKind, string> = { session: 'bfs_', join: 'bfj_', agent: 'bfa_', csrf: 'bfc_' };

export function newToken(kind: TokenKind): string {
  return PREFIX[kind] + randomBytes(32).toString('base64url');
}

/** Tokens are 256-bit random values: a plain SHA-256 is enough to store them (no guessing to slow down). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function tokenMatches(token: string, storedHash: string): boolean {
  const a = Buffer.from(hashToken(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function isTokenOf(kind: TokenKind, value: string): boolean {
  return value.startsWith(PREFIX[kind]) && /^[A-Za-z0-9_-]{40,80}$/.test(value);
}
