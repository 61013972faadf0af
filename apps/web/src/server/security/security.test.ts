import { describe, expect, it } from 'vitest';
import { agentUrlForRecord, agentUrlProblem, allowListProblem } from './agent-url.ts';
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

describe('agent URLs', () => {
  it('are plain http(s), without credentials, query or fragment', () => {
    expect(agentUrlProblem('http://10.0.0.5:7070', [])).toBeUndefined();
    expect(agentUrlProblem('https://agent-1.lan/binfleet/', [])).toBeUndefined();
    expect(agentUrlProblem('file:///etc/passwd', [])).toMatch(/only http and https/);
    expect(agentUrlProblem('gopher://10.0.0.5', [])).toMatch(/only http and https/);
    expect(agentUrlProblem('http://user:pw@10.0.0.5:7070', [])).toMatch(/username or password/);
    expect(agentUrlProblem('http://10.0.0.5:7070/?x=1', [])).toMatch(/query/);
    expect(agentUrlProblem('not a url', [])).toMatch(/not a URL/);
  });

  it('are recorded without the username or password a refused one carried', () => {
    expect(agentUrlForRecord('http://10.0.0.5:7070/')).toBe('http://10.0.0.5:7070/');
    for (const raw of [
      'http://user:s3cret@10.0.0.5:7070/',
      'http://:s3cret@10.0.0.5:7070',
      'ftp://s3cret@h',
    ]) {
      const recorded = agentUrlForRecord(raw);
      expect(recorded).not.toMatch(/s3cret/);
      expect(recorded).toMatch(/redacted@/);
    }
    expect(agentUrlForRecord('not a url //s3cret@host')).not.toMatch(/s3cret/);
  });

  it('match BINFLEET_AGENT_URL_ALLOW by CIDR, address or name, never by a lookalike', () => {
    const allow = ['10.0.0.0/8', '192.168.1.7', 'fd00::/8', 'agent-1.lan', '*.fleet.example'];
    for (const ok of [
      'http://10.200.0.1:7070',
      'http://192.168.1.7:7070',
      'http://[fd12::1]:7070',
      'https://AGENT-1.lan:7070',
      'http://a.b.fleet.example:7070',
    ])
      expect({ ok, problem: agentUrlProblem(ok, allow) }).toEqual({ ok, problem: undefined });
    for (const refused of [
      'http://127.0.0.1:7070',
      'http://11.0.0.1:7070',
      'http://192.168.1.8:7070',
      'http://[::1]:7070',
      'http://[::ffff:127.0.0.1]:7070',
      'http://agent-1.lan.evil.example:7070',
      'http://fleet.example.evil:7070',
      'http://evilfleet.example:7070',
      'http://2130706433:7070', // 127.0.0.1 written as a number
      'http://0x7f.1:7070',
    ])
      expect(agentUrlProblem(refused, allow)).toMatch(/not in BINFLEET_AGENT_URL_ALLOW/);
  });

  it('refuse an allow-list entry that is neither a name nor a CIDR', () => {
    expect(allowListProblem(['10.0.0.0/8', 'agent-1.lan', '*.lan', 'fd00::/8'])).toBeUndefined();
    for (const bad of ['10.0.0.0/33', '10.0.0.0/x', 'http://a', 'a b', '10.0.0.0/8/8', 'agent_1.lan/8'])
      expect({ bad, problem: allowListProblem([bad]) }).toMatchObject({ bad, problem: expect.any(String) });
  });
});
