import type { Db, JoinToken } from '@binfleet/db';
import { ControlPlaneError } from '../../errors.ts';
import { hashToken, newToken } from '../../security/tokens.ts';
import type { Actor, AuditService } from '../audit.ts';
import { actorOf, type SessionUser } from '../auth.ts';

/** Join tokens: an admin creates one (shown once), lists and revokes them; each join spends a use. */
export class JoinTokenService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
  ) {}

  async create(actor: Actor, input: { label: string; expiresInHours: number; maxUses: number | null }) {
    const token = newToken('join');
    const row = await this.db.joinToken.create({
      data: {
        tokenHash: hashToken(token),
        label: input.label,
        createdById: actor.id,
        expiresAt: new Date(Date.now() + input.expiresInHours * 3600_000),
        maxUses: input.maxUses,
      },
      select: { id: true, label: true, expiresAt: true, maxUses: true },
    });
    await this.audit.record({
      actor,
      action: 'join-token.create',
      targets: [input.label],
      params: { expiresInHours: input.expiresInHours, maxUses: input.maxUses },
      outcome: 'success',
    });
    // The only time the token exists in clear: the admin copies it now.
    return { ...row, token };
  }

  /**
   * An install code: a join token for one host that expires soon (15 minutes by default). The
   * install script trades it for the host's own join credential at once (exchange()), so the code on
   * its command line is worthless by the time anyone reads it there.
   */
  async createInstallCode(actor: Actor, input: { label: string; expiresInMinutes: number }) {
    const token = newToken('join');
    const row = await this.db.joinToken.create({
      data: {
        tokenHash: hashToken(token),
        label: input.label,
        createdById: actor.id,
        expiresAt: new Date(Date.now() + input.expiresInMinutes * 60_000),
        maxUses: 1,
      },
      select: { id: true, label: true, expiresAt: true },
    });
    await this.audit.record({
      actor,
      action: 'install-code.create',
      targets: [input.label],
      params: { expiresInMinutes: input.expiresInMinutes },
      outcome: 'success',
    });
    return { ...row, code: token };
  }

  /**
   * Trades an install code (or any join token, one use of it) for a join credential of the host's
   * own: single-use, valid for an hour, written by the install script to a 0600 file the agent reads
   * and deletes. The code is spent here, so it cannot be used again.
   */
  async exchange(code: string, from: { address: string; hostname?: string }) {
    const now = new Date();
    const credential = newToken('join');
    const { label } = await this.db.$transaction(async (tx) => {
      const jt = await admitJoinToken(tx, code, now, 'install code');
      await spendJoinToken(tx, jt, now);
      const label = `${jt.label} · ${from.hostname ?? from.address}`.slice(0, 200);
      await tx.joinToken.create({
        data: {
          tokenHash: hashToken(credential),
          label,
          createdById: jt.createdById,
          expiresAt: new Date(now.getTime() + 3600_000),
          maxUses: 1,
        },
      });
      return { label };
    });
    await this.audit.record({
      actor: { id: null, name: `install:${from.hostname ?? from.address}` },
      action: 'install-code.exchange',
      targets: [label],
      params: { address: from.address, ...(from.hostname ? { hostname: from.hostname } : {}) },
      outcome: 'success',
    });
    return credential;
  }

  /** Whether a code could be exchanged now (for --dry-run), without spending it. */
  async check(code: string): Promise<void> {
    await admitJoinToken(this.db, code, new Date(), 'install code');
  }

  list() {
    return this.db.joinToken.findMany({
      select: {
        id: true,
        label: true,
        createdAt: true,
        expiresAt: true,
        maxUses: true,
        uses: true,
        lastUsedAt: true,
        revokedAt: true,
        createdBy: { select: { username: true } },
      },
      orderBy: { createdAt: 'desc' },
    });
  }

  async revoke(actor: SessionUser, id: string) {
    const token = await this.db.joinToken.findUnique({ where: { id } });
    if (!token) throw new ControlPlaneError('NOT_FOUND', 'No such join token.');
    await this.db.joinToken.update({ where: { id }, data: { revokedAt: new Date() } });
    await this.audit.record({
      actor: actorOf(actor),
      action: 'join-token.revoke',
      targets: [token.label],
      outcome: 'success',
    });
  }
}

/** The database or the transaction a join runs in. */
type JoinTokens = Pick<Db, 'joinToken'>;

/** The join token a join presents, when it may be used now; otherwise an error saying what to do. */
export async function admitJoinToken(
  db: JoinTokens,
  token: string,
  now: Date,
  what: 'join token' | 'install code' = 'join token',
): Promise<JoinToken> {
  const jt = await db.joinToken.findUnique({ where: { tokenHash: hashToken(token) } });
  const refused = !jt
    ? `the ${what} is unknown`
    : jt.revokedAt
      ? `the ${what} was revoked`
      : jt.expiresAt < now
        ? `the ${what} has expired`
        : jt.maxUses !== null && jt.uses >= jt.maxUses
          ? what === 'install code'
            ? 'the install code has been used already'
            : 'the join token has been used up'
          : undefined;
  if (refused || !jt) {
    throw new ControlPlaneError(
      'UNAUTHENTICATED',
      what === 'install code'
        ? `Cannot install: ${refused}. Ask an admin for a new install line (Fleet > Add host); a code works once, within 15 minutes.`
        : `Cannot join: ${refused}. Ask an admin for a new join token (Settings > Join tokens).`,
    );
  }
  return jt;
}

/** Spends one use of an admitted token; CONFLICT when another join spent it meanwhile. */
export async function spendJoinToken(db: JoinTokens, jt: JoinToken, now: Date): Promise<void> {
  // Conditional increment: two agents racing for the last use of a token cannot both get it.
  const { count } = await db.joinToken.updateMany({
    where: { id: jt.id, uses: jt.uses },
    data: { uses: { increment: 1 }, lastUsedAt: now },
  });
  if (count !== 1)
    throw new ControlPlaneError('CONFLICT', 'Another host used the join token at the same moment: retry.');
}
