import type { Db, Role, User } from '@binfleet/db';
import { ControlPlaneError } from '../errors.ts';
import { hashPassword, passwordProblem, verifyPassword } from '../security/passwords.ts';
import { hashToken, newToken } from '../security/tokens.ts';
import type { DeviceCookies } from '../security/device-cookie.ts';
import type { HashQueue } from '../security/hash-queue.ts';
import type { AuditService } from './audit.ts';
import type { LoginLimits } from './login-limits.ts';

export const ROLES = ['viewer', 'operator', 'admin'] as const satisfies readonly Role[];
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function hasRole(user: Pick<User, 'role'>, needed: Role): boolean {
  return RANK[user.role] >= RANK[needed];
}

export interface SessionUser {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
}

export interface AuthenticatedSession {
  readonly user: SessionUser;
  readonly sessionId: string;
  readonly csrfSecret: string;
}

const alreadySetUp = () =>
  new ControlPlaneError('FORBIDDEN', 'binfleet is already set up: sign in, or ask an admin for an account.');

const USERNAME = /^[a-z0-9][a-z0-9._-]{1,31}$/;

export function normalizeUsername(raw: string): string {
  const username = raw.trim().toLowerCase();
  if (!USERNAME.test(username)) {
    throw new ControlPlaneError(
      'INVALID_INPUT',
      'A username is 2-32 characters: letters, digits, ".", "_", "-".',
    );
  }
  return username;
}

export class AuthService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly sessionTtlMs: number,
    private readonly limits: LoginLimits,
    private readonly hashes: HashQueue,
    private readonly devices: DeviceCookies,
  ) {}

  async needsSetup(): Promise<boolean> {
    return (await this.db.user.count()) === 0;
  }

  /** First-run setup: creates the first admin, and only while no user exists. */
  async setup(rawUsername: string, password: string) {
    const username = normalizeUsername(rawUsername);
    this.checkPassword(password);
    // Checked before hashing too: on an installed server, setup must cost a caller nothing.
    if (!(await this.needsSetup())) throw alreadySetUp();
    const passwordHash = await this.hashes.run(() => hashPassword(password));
    const user = await this.db.$transaction(async (tx) => {
      if ((await tx.user.count()) > 0) throw alreadySetUp();
      return tx.user.create({ data: { username, passwordHash, role: 'admin' } });
    });
    await this.audit.record({
      actor: { id: user.id, name: username },
      action: 'auth.setup',
      targets: [username],
      outcome: 'success',
    });
    return this.startSession(user);
  }

  /** The first admin from BINFLEET_ADMIN_USERNAME/PASSWORD, when the database has no user yet. */
  async bootstrapAdmin(rawUsername: string, password: string): Promise<boolean> {
    if (!(await this.needsSetup())) return false;
    await this.setup(rawUsername, password);
    return true;
  }

  /**
   * Signs in. Limits (LoginLimits) are applied before the password is hashed, and the hash itself
   * waits in the bounded HashQueue; a browser with a device cookie for this account (from an earlier
   * successful sign-in) is limited on its own, so nobody else's failures lock it out, and its hash goes
   * first. Answers with a new session and a fresh device cookie.
   */
  async login(rawUsername: string, password: string, from: { address?: string; deviceCookie?: string } = {}) {
    const username = rawUsername.trim().toLowerCase().slice(0, 64);
    const address = from.address ?? 'unknown';
    const refuse = async (message: string) => {
      this.limits.refused(address);
      await this.limits.hold();
      return new ControlPlaneError('RATE_LIMITED', message);
    };
    // A browser that signed in before is checked by its cookie's signature alone, before anything else.
    const claimed = this.devices.verify(from.deviceCookie);
    const quick = claimed ? undefined : this.limits.quickRefusal(address);
    if (quick) throw await refuse(quick);
    const user = await this.db.user.findUnique({ where: { username } });
    const device = user && claimed?.userId === user.id ? claimed.device : undefined;
    const attempt = { username, address, ...(device ? { device } : {}) };
    const refusal = await this.limits.admit(attempt);
    if (refusal) throw await refuse(refusal);
    let ok: boolean;
    try {
      // Hash for unknown users too, so response time does not tell which usernames exist.
      ok = await this.hashes.run(
        () => (user ? verifyPassword(password, user.passwordHash) : hashPassword(password).then(() => false)),
        { priority: device !== undefined },
      );
    } catch (error) {
      if (error instanceof ControlPlaneError && error.code === 'BUSY') this.limits.refused(address);
      throw error;
    }
    if (!user || !ok || user.disabledAt) {
      await this.audit.record({
        actor: { id: user?.id ?? null, name: username },
        action: 'auth.login',
        targets: [username, `from:${address}`],
        outcome: 'failure',
        ...(device ? { detail: 'from a known device' } : {}),
      });
      throw new ControlPlaneError('UNAUTHENTICATED', 'Wrong username or password.');
    }
    await this.limits.succeeded(attempt);
    await this.audit.record({
      actor: { id: user.id, name: username },
      action: 'auth.login',
      targets: [username, `from:${address}`],
      outcome: 'success',
    });
    return { ...(await this.startSession(user)), deviceCookie: this.devices.issue(user.id) };
  }

  async authenticate(token: string | undefined): Promise<AuthenticatedSession | null> {
    if (!token) return null;
    const session = await this.db.session.findUnique({
      where: { tokenHash: hashToken(token) },
      include: { user: true },
    });
    if (!session || session.expiresAt < new Date() || session.user.disabledAt) return null;
    // Sliding expiry, written at most once a minute, and only as a courtesy: a refresh the database
    // cannot take (its disk is full) must not turn away a valid session; the next request tries again.
    if (Date.now() - session.lastSeenAt.getTime() > 60_000) {
      await this.db.session
        .update({
          where: { id: session.id },
          data: { lastSeenAt: new Date(), expiresAt: new Date(Date.now() + this.sessionTtlMs) },
        })
        .catch(() => undefined);
    }
    const { user } = session;
    return {
      sessionId: session.id,
      csrfSecret: session.csrfSecret,
      user: { id: user.id, username: user.username, role: user.role },
    };
  }

  async logout(sessionId: string, user: SessionUser): Promise<void> {
    await this.db.session.deleteMany({ where: { id: sessionId } });
    await this.audit.record({
      actor: { id: user.id, name: user.username },
      action: 'auth.logout',
      targets: [user.username],
      outcome: 'success',
    });
  }

  listUsers() {
    return this.db.user.findMany({
      select: { id: true, username: true, role: true, createdAt: true, disabledAt: true },
      orderBy: { username: 'asc' },
    });
  }

  async createUser(actor: SessionUser, input: { username: string; password: string; role: Role }) {
    const username = normalizeUsername(input.username);
    this.checkPassword(input.password);
    if (await this.db.user.findUnique({ where: { username } })) {
      throw new ControlPlaneError('CONFLICT', `User ${username} exists already: pick another name.`);
    }
    const user = await this.db.user.create({
      data: { username, role: input.role, passwordHash: await hashPassword(input.password) },
      select: { id: true, username: true, role: true },
    });
    await this.audit.record({
      actor: actorOf(actor),
      action: 'user.create',
      targets: [username],
      params: { role: input.role },
      outcome: 'success',
    });
    return user;
  }

  async updateUser(
    actor: SessionUser,
    input: { id: string; role?: Role; disabled?: boolean; password?: string },
  ) {
    const user = await this.db.user.findUnique({ where: { id: input.id } });
    if (!user) throw new ControlPlaneError('NOT_FOUND', 'No such user: reload the list.');
    if (user.id === actor.id && (input.disabled || (input.role && input.role !== 'admin'))) {
      throw new ControlPlaneError('FORBIDDEN', 'You cannot demote or disable yourself: ask another admin.');
    }
    if (input.password !== undefined) this.checkPassword(input.password);
    await this.db.user.update({
      where: { id: user.id },
      data: {
        ...(input.role ? { role: input.role } : {}),
        ...(input.disabled === undefined ? {} : { disabledAt: input.disabled ? new Date() : null }),
        ...(input.password === undefined ? {} : { passwordHash: await hashPassword(input.password) }),
      },
    });
    if (input.disabled || input.password !== undefined)
      await this.db.session.deleteMany({ where: { userId: user.id } });
    await this.audit.record({
      actor: actorOf(actor),
      action: 'user.update',
      targets: [user.username],
      params: { role: input.role, disabled: input.disabled, passwordChanged: input.password !== undefined },
      outcome: 'success',
    });
  }

  private checkPassword(password: string): void {
    const problem = passwordProblem(password);
    if (problem) throw new ControlPlaneError('INVALID_INPUT', `Password: ${problem}`);
  }

  private async startSession(user: User) {
    const token = newToken('session');
    const csrfSecret = newToken('csrf');
    await this.db.session.create({
      data: {
        tokenHash: hashToken(token),
        userId: user.id,
        csrfSecret,
        expiresAt: new Date(Date.now() + this.sessionTtlMs),
      },
    });
    return {
      token,
      csrfSecret,
      user: { id: user.id, username: user.username, role: user.role } as SessionUser,
    };
  }
}

export function actorOf(user: SessionUser) {
  return { id: user.id, name: user.username };
}
