import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEVICE_TTL_MS, DeviceCookies } from './device-cookie.ts';

describe('DeviceCookies', () => {
  const devices = new DeviceCookies(randomBytes(32));
  const userId = '019ae3c1-0000-7000-8000-000000000001';

  it('knows a cookie it issued to that user, until it expires', () => {
    const cookie = devices.issue(userId, 1_000);
    expect(devices.deviceOf(cookie, userId, 2_000)).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(devices.deviceOf(cookie, 'another-user', 2_000)).toBeUndefined();
    expect(devices.deviceOf(cookie, userId, 1_001 + DEVICE_TTL_MS)).toBeUndefined();
  });

  it('refuses cookies it did not sign: another key, a changed user or date, garbage', () => {
    const cookie = devices.issue(userId, 1_000);
    expect(new DeviceCookies(randomBytes(32)).deviceOf(cookie, userId, 2_000)).toBeUndefined();
    expect(devices.deviceOf(cookie.replace('.1000.', '.9000.'), userId, 10_000)).toBeUndefined();
    for (const junk of [undefined, '', 'bfd_', `${cookie}x`, cookie.toUpperCase()])
      expect(devices.deviceOf(junk, userId, 2_000)).toBeUndefined();
  });
});
