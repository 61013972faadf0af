import { describe, expect, it } from 'vitest';
import { clientOf } from './login-limits.ts';

describe('clientOf: who a sign-in counts against', () => {
  it('an IPv4 address itself, also written IPv4-mapped', () => {
    expect(clientOf('192.0.2.7')).toBe('192.0.2.7');
    expect(clientOf('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientOf('::FFFF:192.0.2.7')).toBe('192.0.2.7');
  });

  it('an IPv6 address by its /64, however it is written', () => {
    const one = clientOf('2001:db8:1:2::1');
    expect(one).toBe('2001:db8:1:2::/64');
    for (const same of [
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:0db8:0001:0002:0:0:0:9',
      '2001:DB8:1:2:a:b:c:d',
      '2001:db8:1:2::1%eth0',
    ])
      expect(clientOf(same)).toBe(one);
    expect(clientOf('2001:db8:1:3::1')).not.toBe(one);
    expect(clientOf('::1')).toBe('0:0:0:0::/64');
    expect(clientOf('64:ff9b::192.0.2.7')).toBe('64:ff9b:0:0::/64');
    expect(clientOf('2001:db8::')).toBe('2001:db8:0:0::/64');
  });

  it('anything else as it is (no address known)', () => {
    expect(clientOf('unknown')).toBe('unknown');
  });
});
