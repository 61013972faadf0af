import { describe, expect, it } from 'vitest';
import { BearerAuth, generateToken, hashToken, validateToken } from './bearer-auth.ts';

describe('BearerAuth', () => {
  const token = generateToken();
  const auth = new BearerAuth({ hash: hashToken(token) });

  it('accepts the token and nothing else', () => {
    expect(auth.accepts(`Bearer ${token}`)).toBe(true);
    expect(auth.accepts(`bearer  ${token}`)).toBe(true);
    expect(auth.accepts(undefined)).toBe(false);
    expect(auth.accepts('')).toBe(false);
    expect(auth.accepts(`Bearer ${token}x`)).toBe(false);
    expect(auth.accepts(`Bearer ${token.slice(1)}`)).toBe(false);
    expect(auth.accepts(`Basic ${token}`)).toBe(false);
    expect(auth.accepts(`Bearer ${hashToken(token)}`)).toBe(false);
  });

  it('after a rotation, accepts the old token too until the new one is presented, then only the new one', () => {
    const next = generateToken();
    const retired: unknown[] = [];
    const rotated = new BearerAuth({ hash: hashToken(next), previousHash: hashToken(token) }, (h) =>
      retired.push(h),
    );
    expect(rotated.accepts(`Bearer ${token}`)).toBe(true);
    expect(rotated.accepts(`Bearer ${token}`)).toBe(true);
    expect(retired).toEqual([]);
    expect(rotated.accepts(`Bearer ${next}`)).toBe(true);
    expect(retired).toEqual([{ hash: hashToken(next) }]);
    expect(rotated.accepts(`Bearer ${token}`)).toBe(false);
    expect(rotated.accepts(`Bearer ${next}`)).toBe(true);
    expect(retired).toHaveLength(1);
  });

  it('makes 256-bit tokens and keeps only their hash', () => {
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(generateToken()).not.toBe(token);
  });

  it('refuses tokens that are guessable or cannot travel in a header', () => {
    expect(validateToken('x'.repeat(24), 'test')).toBe('x'.repeat(24));
    expect(() => validateToken('short', '/etc/token')).toThrow(/token from \/etc\/token must be 24 to 512/);
    expect(() => validateToken('has a space in it, and is long', 'env')).toThrow(/without spaces/);
  });
});
