import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const DEVICE_COOKIE = 'bf_device';
/** How long a device stays known after its last successful sign-in. */
export const DEVICE_TTL_MS = 90 * 24 * 3600_000;

/**
 * A device cookie marks a browser that signed in successfully as a user before: a sign-in from it is
 * not subject to the limits per address and per account (which someone else can run into on purpose),
 * only to its own. It is `bfd_<device id>.<user id>.<issued, ms>.<HMAC>`, signed with a key derived from
 * the server's secret key, so it cannot be made up; it carries no secret of its own and grants nothing
 * but a fair chance to sign in with the right password.
 */
export class DeviceCookies {
  private readonly key: Buffer;

  constructor(serverKey: Buffer) {
    this.key = createHmac('sha256', serverKey).update('binfleet device cookie v1').digest();
  }

  issue(userId: string, now = Date.now()): string {
    const body = `${randomBytes(12).toString('base64url')}.${userId}.${now}`;
    return `bfd_${body}.${this.sign(body)}`;
  }

  /** The device's id, when `cookie` is one this server issued to `userId` and it has not expired. */
  deviceOf(cookie: string | undefined, userId: string, now = Date.now()): string | undefined {
    const claimed = this.verify(cookie, now);
    return claimed?.userId === userId ? claimed.device : undefined;
  }

  /** The device and the user it signed in as, when this server issued `cookie` and it has not expired. */
  verify(cookie: string | undefined, now = Date.now()): { device: string; userId: string } | undefined {
    const match = /^bfd_([A-Za-z0-9_-]{16})\.([A-Za-z0-9-]{1,64})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(
      cookie ?? '',
    );
    if (!match) return undefined;
    const [, device, user, issued, mac] = match as unknown as [string, string, string, string, string];
    const expected = Buffer.from(this.sign(`${device}.${user}.${issued}`));
    if (!timingSafeEqual(expected, Buffer.from(mac))) return undefined;
    if (now - Number(issued) > DEVICE_TTL_MS) return undefined;
    return { device, userId: user };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
