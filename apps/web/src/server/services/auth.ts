import type { Db, Role, User } from '@binfleet/db';
import { ControlPlaneError } from '../errors.ts';
import { hashPassword, passwordProblem, verifyPassword } from '../security/passwords.ts';
import { hashToken, newToken } from '../security/tokens.ts';
import type { AuditService } from './audit.ts';

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

// Sign-in attempts are counted from the audit log, so every web replica sees the same count.
const LOGIN_WINDOW_MS = 15 * 60_000;

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
    /** From the configuration (BINFLEET_LOGIN_LIMIT_PER_ADDRESS / _PER_ACCOUNT). */
    private readonly limits: { readonly perAddress: number; readonly perAccount: number },
  ) {}

  async needsSetup(): Promise<boolean> {
    return (await this.db.user.count()) === 0;
  }

  /** First-run setup: creates the first admin, and only while no user exists. */
  async setup(rawUsername: string, password: string) {
    const username = normalizeUsername(rawUsername);
    this.checkPassword(password);
    const passwordHash = await hashPassword(password);
    const user = await this.db.$transaction(async (tx) => {
      if ((await tx.user.count()) > 0) {
        throw new ControlPlaneError(
          'FORBIDDEN',
          'binfleet is already set up: sign in, or ask an admin for an account.',
        );
      }
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
   * Signs in. Attempts are limited per account from one client address (`perAddress`), so someone
   * guessing from elsewhere does not lock the owner out, and per account from all addresses together
   * (`perAccount`), so guessing spread over many addresses stays slow.
   */
  async login(rawUsername: string, password: string, clientAddress = 'unknown') {
    const username = rawUsername.trim().toLowerCase().slice(0, 64);
    const from = `from:${clientAddress.toLowerCase()}`;
    // The attempt is written before anything is counted or checked, and the limit counts attempts:
    // concurrent guesses each see their own row and every earlier one, so a burst cannot slip past the
    // limit between a count and a write, in one process or across replicas. A successful sign-in
    // starts the count again.
    await this.audit.record({
      actor: { id: null, name: username },
      action: 'auth.login.attempt',
      targets: [username, from],
      outcome: 'success',
      detail: 'recorded before the password is checked',
    });
    const windowStart = new Date(Date.now() - LOGIN_WINDOW_MS);
    const lastSuccess = await this.db.auditEvent.findFirst({
      where: { action: 'auth.login', outcome: 'success', actorName: username, at: { gt: windowStart } },
      orderBy: { at: 'desc' },
      select: { at: true },
    });
    const since = lastSuccess?.at ?? windowStart;
    const attempts = (subjects?: string) =>
      this.db.auditEvent.count({
        where: {
          action: 'auth.login.attempt',
          actorName: username,
          at: { gt: since },
          ...(subjects ? { subjects } : {}),
        },
      });
    const [fromHere, all] = await Promise.all([attempts(`|${username}|${from}|`), attempts()]);
    const limited =
      fromHere > this.limits.perAddress
        ? 'Too many failed sign-ins for this account from your address: wait 15 minutes and try again.'
        : all > this.limits.perAccount
          ? 'Too many failed sign-ins for this account from many addresses: wait 15 minutes and try again, or ask an admin to check the audit log.'
          : undefined;
    if (limited) {
      await this.audit.record({
        actor: { id: null, name: username },
        action: 'auth.login',
        targets: [username, from],
        outcome: 'denied',
        detail: fromHere > this.limits.perAddress ? 'rate limited (address)' : 'rate limited (account)',
      });
      throw new ControlPlaneError('RATE_LIMITED', limited);
    }
    const user = await this.db.user.findUnique({ where: { username } });
    // Hash even for unknown users, so response time does not tell which usernames exist.
    const ok = user
      ? await verifyPassword(password, user.passwordHash)
      : (await hashPassword(password), false);
    if (!user || !ok || user.disabledAt) {
      await this.audit.record({
        actor: { id: user?.id ?? null, name: username },
        action: 'auth.login',
        targets: [username],
        outcome: 'failure',
      });
      throw new ControlPlaneError('UNAUTHENTICATED', 'Wrong username or password.');
    }
    await this.audit.record({
      actor: { id: user.id, name: username },
      action: 'auth.login',
      targets: [username],
      outcome: 'success',
    });
    return this.startSession(user);
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
