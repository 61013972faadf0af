import { describe, expect, it } from 'vitest';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.ts';
import { hashToken, isTokenOf, newToken, tokenMatches } from './tokens.ts';

describe('passwords', () => {
  it('verifies the right password and refuses others', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(stored).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse batterY', stored)).toBe(false);
    expect(await verifyPassword('x', 'garbage')).toBe(false);
  });

  it('explains weak passwords', () => {
    expect(passwordProblem('short')).toMatch(/10 characters/);
    expect(passwordProblem('long enough pass')).toBeUndefined();
  });
});

describe('tokens', () => {
  it('are random, prefixed and checked against their hash', () => {
    const t = newToken('join');
    expect(isTokenOf('join', t)).toBe(true);
    expect(isTokenOf('agent', t)).toBe(false);
    expect(newToken('join')).not.toBe(t);
    expect(tokenMatches(t, hashToken(t))).toBe(true);
    expect(tokenMatches(t + 'x', hashToken(t))).toBe(false);
  });
});
