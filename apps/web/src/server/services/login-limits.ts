import { isIPv6 } from 'node:net';
import type { Db } from '@binfleet/db';
import type { AuditService } from './audit.ts';

/** From the configuration (BINFLEET_LOGIN_*). */
export interface LoginLimitSettings {
  /** Attempts for one account from one address. */
  readonly perAddress: number;
  /** Attempts for one account from all addresses together. */
  readonly perAccount: number;
  /** Attempts from one address for any account, unknown names included. */
  readonly perClient: number;
  /** Attempts from one known device (a device cookie) for its account. */
  readonly perDevice: number;
  readonly windowMs: number;
  /** How long a refused sign-in waits before its answer (at most MAX_HELD at once; beyond, at once). */
  readonly refusalDelayMs: number;
}

/** Refused sign-ins held for their delay at once, per process: each costs a timer and an open socket. */
const MAX_HELD = 1000;

export interface LoginAttempt {
  readonly username: string;
  readonly address: string;
  /** The device id of a valid device cookie for this account. */
  readonly device?: string;
}

/**
 * Sign-in limits, checked before any password is hashed. Each attempt is counted first, in the
 * database (LoginCounter, one row per key and fixed window, raised with one atomic upsert), and then
 * compared with the limits (this window's count plus the weighed part of the last one's): concurrent attempts each see their own count, in one process or across
 * replicas. An attempt from a known device counts only against that device; any other against its
 * address, then the account from that address, then the account as a whole, each only while the one
 * before is within its limit (so unknown names cannot fill the table, and one address cannot use up
 * the account's ceiling).
 *
 * Refused attempts (rate limited, or the hash queue full) write no audit row each: they are counted per
 * address and window (in memory first, added to the database every second), and `report()` writes one
 * `auth.login.refused` row for each such address once its window is over. A key this process saw past
 * its limit is refused from memory for the rest of the window, so a flood costs no database work.
 */
export class LoginLimits {
  private timer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Keys this process saw past their limit, with the window they were in. */
  private readonly overKeys = new Map<string, number>();
  private held = 0;
  private readonly pendingRefusals = new Map<string, { address: string; at: number; count: number }>();

  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    readonly settings: LoginLimitSettings,
  ) {}

  /**
   * A refusal known without the database: this process saw the address past its limit in this window
   * already. A flood from one address then costs no database work at all.
   */
  quickRefusal(address: string, now = Date.now()): string | undefined {
    return this.knownOver(`address:${clientOf(address)}`, now)
      ? `Too many failed sign-ins from your address: ${this.waitText(now)}.`
      : undefined;
  }

  /** Counts the attempt; a message saying why it is refused, or undefined. */
  async admit(attempt: LoginAttempt, now = Date.now()): Promise<string | undefined> {
    const { username, device } = attempt;
    const address = clientOf(attempt.address);
    const { perAddress, perAccount, perClient, perDevice } = this.settings;
    const wait = this.waitText(now);
    if (device !== undefined) {
      return (await this.over(`device:${device}`, perDevice, now))
        ? `Too many failed sign-ins from this browser: ${wait}.`
        : undefined;
    }
    if (await this.over(`address:${address}`, perClient, now))
      return `Too many failed sign-ins from your address: ${wait}.`;
    // Each count is raised only while the one before is within its limit: guesses from one address
    // add at most perAddress + 1 to the account's count, so the account's ceiling takes many addresses.
    if (await this.over(`account:${username}|address:${address}`, perAddress, now))
      return `Too many failed sign-ins for this account from your address: ${wait}.`;
    if (await this.over(`account:${username}`, perAccount, now))
      return `Too many failed sign-ins for this account from many addresses: ${wait}, sign in from a browser you signed in with before, or ask an admin to check the audit log.`;
    return undefined;
  }

  /** A successful sign-in starts its account's counts again and takes its attempt off its address. */
  async succeeded(attempt: LoginAttempt, now = Date.now()): Promise<void> {
    const { username, device } = attempt;
    const address = clientOf(attempt.address);
    const keys =
      device !== undefined
        ? [`device:${device}`]
        : [`account:${username}|address:${address}`, `account:${username}`];
    for (const key of keys) this.overKeys.delete(key);
    const ids = keys.flatMap((key) => [this.idOf(key, now), this.idOf(key, now - this.settings.windowMs)]);
    await this.db.loginCounter.deleteMany({ where: { id: { in: ids } } });
    if (device === undefined)
      await this.db.loginCounter.updateMany({
        where: { id: this.idOf(`address:${address}`, now), count: { gt: 0 } },
        data: { count: { decrement: 1 } },
      });
  }

  /**
   * Waits out the refusal delay: a client that sends its next guess when the last one is answered (as
   * most tools do, with a fixed number of connections) then sends a few per second, not thousands,
   * and refusals stop being the flood's fastest path through the server.
   */
  async hold(): Promise<void> {
    if (this.held >= MAX_HELD || this.settings.refusalDelayMs === 0) return;
    this.held++;
    await new Promise((resolve) => setTimeout(resolve, this.settings.refusalDelayMs).unref());
    this.held--;
  }

  /** A refused attempt: counted (in memory, written within a second) for the address's audit row. */
  refused(from: string, now = Date.now()): void {
    const address = clientOf(from);
    const id = this.idOf(`refused:${address}`, now);
    const pending = this.pendingRefusals.get(id);
    if (pending) pending.count++;
    else this.pendingRefusals.set(id, { address, at: now, count: 1 });
  }

  /** Adds the refusals counted in memory to their rows. */
  async flushRefusals(): Promise<void> {
    const pending = [...this.pendingRefusals.values()];
    this.pendingRefusals.clear();
    for (const p of pending) await this.bump(`refused:${p.address}`, p.at, p.count);
  }

  /**
   * Writes one `auth.login.refused` audit row per address for every window that is over, and drops
   * counters of windows long past. Safe on several replicas at once: a conditional update decides
   * which one writes each row.
   */
  async report(now = Date.now()): Promise<number> {
    const { windowMs } = this.settings;
    await this.flushRefusals();
    for (const [key, window] of this.overKeys)
      if (window !== this.windowStartOf(now)) this.overKeys.delete(key);
    const over = new Date(this.windowStartOf(now));
    const rows = await this.db.loginCounter.findMany({
      where: { key: { startsWith: 'refused:' }, reported: false, windowStart: { lt: over } },
      take: 500,
    });
    let written = 0;
    for (const row of rows) {
      const claimed = await this.db.loginCounter.updateMany({
        where: { id: row.id, reported: false },
        data: { reported: true },
      });
      if (claimed.count !== 1) continue;
      const address = row.key.slice('refused:'.length);
      const end = new Date(row.windowStart.getTime() + windowMs);
      await this.audit.record({
        actor: { id: null, name: 'system' },
        action: 'auth.login.refused',
        targets: [`from:${address}`],
        params: { refused: row.count, from: row.windowStart.toISOString(), to: end.toISOString() },
        outcome: 'denied',
        detail: `${row.count} sign-in attempt${row.count === 1 ? '' : 's'} from ${address} refused (rate limited or server busy) between ${row.windowStart.toISOString()} and ${end.toISOString()}`,
      });
      written++;
    }
    await this.db.loginCounter.deleteMany({
      where: {
        windowStart: { lt: new Date(this.windowStartOf(now) - windowMs) },
        OR: [{ reported: true }, { NOT: { key: { startsWith: 'refused:' } } }],
      },
    });
    return written;
  }

  /** Reports on a timer (unref'd: it does not keep the process alive). */
  start(): void {
    const every = Math.min(this.settings.windowMs, 60_000);
    this.timer ??= setInterval(() => void this.report().catch(() => undefined), every);
    this.timer.unref();
    this.flushTimer ??= setInterval(() => void this.flushRefusals().catch(() => undefined), 1000);
    this.flushTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.flushTimer);
    this.timer = this.flushTimer = undefined;
    await this.report().catch(() => undefined);
  }

  private knownOver(key: string, now: number): boolean {
    return this.overKeys.get(key) === this.windowStartOf(now);
  }

  /**
   * Counts one attempt under `key` (unless known past its limit already): whether it is past `limit`.
   * The count is this window's plus the last window's, weighed by how much of it still lies within
   * one window's length from now (a sliding window, approximately): attempts just before a window
   * starts still count just after.
   */
  private async over(key: string, limit: number, now: number): Promise<boolean> {
    if (this.knownOver(key, now)) return true;
    const count = await this.bump(key, now);
    if (count <= limit) {
      const { windowMs } = this.settings;
      const start = this.windowStartOf(now);
      const last = await this.db.loginCounter.findUnique({
        where: { id: `${key}@${start - windowMs}` },
        select: { count: true },
      });
      if (count + (last?.count ?? 0) * (1 - (now - start) / windowMs) <= limit) return false;
    }
    this.overKeys.set(key, this.windowStartOf(now));
    return true;
  }

  private windowStartOf(now: number): number {
    return Math.floor(now / this.settings.windowMs) * this.settings.windowMs;
  }

  private idOf(key: string, now: number): string {
    return `${key}@${this.windowStartOf(now)}`;
  }

  private waitText(now: number): string {
    const minutes = Math.max(1, Math.ceil((this.windowStartOf(now) + this.settings.windowMs - now) / 60_000));
    return `wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again`;
  }

  /** Adds `by` to the key's counter of this window; its new value. */
  private async bump(key: string, now: number, by = 1): Promise<number> {
    const id = this.idOf(key, now);
    const windowStart = new Date(this.windowStartOf(now));
    const upsert = () =>
      this.db.loginCounter.upsert({
        where: { id },
        create: { id, key, windowStart, count: by },
        update: { count: { increment: by } },
        select: { count: true },
      });
    // Two first attempts at once may both try to create the row: the loser's retry increments it.
    const row = await upsert().catch((error: { code?: string }) => {
      if (error.code === 'P2002') return upsert();
      throw error;
    });
    return row.count;
  }
}

/**
 * Who an address counts as: an IPv4 address itself (also written IPv4-mapped, ::ffff:a.b.c.d), an IPv6
 * address by its /64, the smallest network one client is given (a host may take any address of it, so
 * counting per address would let it guess 2^64 times as often).
 */
export function clientOf(address: string): string {
  const bare = address.split('%')[0]!;
  if (!isIPv6(bare)) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return mapped[1]!;
  let text = bare;
  // An IPv4 tail (::1.2.3.4, 64:ff9b::1.2.3.4) as its two groups.
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const groups =
    rest === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
