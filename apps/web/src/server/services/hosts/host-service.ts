import { createHash } from 'node:crypto';
import type { AgentReport, Heartbeat, Join } from '@binfleet/agent-contract';
import type { KernelEntry } from '@binfleet/arch-table';
import type { Db, Host, Prisma, SecretBox } from '@binfleet/db';
import { ControlPlaneError } from '../../errors.ts';
import { agentUrlForRecord, agentUrlProblem } from '../../security/agent-url.ts';
import { hashToken, newToken } from '../../security/tokens.ts';
import { actorOf, type SessionUser } from '../auth.ts';
import type { Actor, AuditService } from '../audit.ts';
import { computeDrift, type Drift, type PolicySpec } from '../policy.ts';

export interface HostTiming {
  readonly heartbeatIntervalMs: number;
  readonly offlineAfterMissed: number;
  /** Hosts and CIDRs agent URLs may point at (BINFLEET_AGENT_URL_ALLOW); empty or absent: any. */
  readonly agentUrlAllow?: readonly string[];
}

export interface HostFilter {
  readonly search?: string | undefined;
  readonly online?: boolean | undefined;
  readonly group?: string | undefined;
  readonly arch?: string | undefined;
}

// Only the latest snapshots matter for the dashboard; older changes are kept up to this many per host.
const SNAPSHOTS_KEPT = 50;

export function snapshotHash(entries: readonly KernelEntry[]): string {
  const canonical = [...entries].sort((a, b) => a.name.localeCompare(b.name));
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/**
 * Runs a transaction again when it lost a race (CONFLICT): on PostgreSQL several agents joining with
 * one token at the same moment all read the same use count, and all but one must try again.
 */
async function retryOnConflict<T>(work: () => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ControlPlaneError && error.code === 'CONFLICT') || attempt >= attempts)
        throw error;
      await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 40));
    }
  }
}

function reconcileState(report: AgentReport, now: Date) {
  const error = report.reconcileError;
  return {
    reconcileError: error?.message ?? null,
    reconcileErrorAt: error ? new Date(now.getTime() - error.ageMs) : null,
  };
}

export class HostService {
  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox,
    private readonly audit: AuditService,
    private readonly timing: HostTiming,
    private readonly log: (line: Record<string, unknown>) => void = (l) => console.log(JSON.stringify(l)),
  ) {}

  /** Hosts whose last heartbeat is older than this are offline. */
  onlineSince(now = new Date()): Date {
    return new Date(now.getTime() - this.timing.heartbeatIntervalMs * this.timing.offlineAfterMissed);
  }

  isOnline(lastSeenAt: Date | null, now = new Date()): boolean {
    return lastSeenAt !== null && lastSeenAt >= this.onlineSince(now);
  }

  async createJoinToken(
    actor: Actor,
    input: { label: string; expiresInHours: number; maxUses: number | null },
  ) {
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

  listJoinTokens() {
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

  async revokeJoinToken(actor: SessionUser, id: string) {
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

  /**
   * An agent joins with a join token: it gets two fresh secrets, one the server uses to call it (kept
   * sealed) and one it presents on heartbeats (kept hashed). The same agentId re-joining updates its
   * row, so a restarted agent never shows up twice; but only when it proves it is that agent, with the
   * heartbeat credential it got at its last join: an agent id is no secret, and a join token alone
   * must not take over a host (its jobs, and the calls the server makes with its credential).
   */
  async join(input: Join) {
    const urlProblem = agentUrlProblem(input.agentUrl, this.timing.agentUrlAllow ?? []);
    if (urlProblem)
      throw new ControlPlaneError(
        'INVALID_INPUT',
        `Cannot join: the agent URL ${JSON.stringify(agentUrlForRecord(input.agentUrl).slice(0, 200))} is refused (${urlProblem}). Start the agent with --advertise-url set to an http(s) address the control plane may call.`,
      );
    const tokenHash = hashToken(input.joinToken);
    const now = new Date();
    const agentToken = newToken('agent');
    const heartbeatToken = newToken('agent');
    const host = await retryOnConflict(() =>
      this.db.$transaction(async (tx) => {
        const jt = await tx.joinToken.findUnique({ where: { tokenHash } });
        const refused = !jt
          ? 'the join token is unknown'
          : jt.revokedAt
            ? 'the join token was revoked'
            : jt.expiresAt < now
              ? 'the join token has expired'
              : jt.maxUses !== null && jt.uses >= jt.maxUses
                ? 'the join token has been used up'
                : undefined;
        if (refused || !jt) {
          throw new ControlPlaneError(
            'UNAUTHENTICATED',
            `Cannot join: ${refused}. Ask an admin for a new join token (Settings > Join tokens).`,
          );
        }
        const existing = await tx.host.findUnique({
          where: { agentId: input.agentId },
          select: { heartbeatTokenHash: true, hostname: true },
        });
        if (
          existing &&
          (input.heartbeatToken === undefined ||
            hashToken(input.heartbeatToken) !== existing.heartbeatTokenHash)
        ) {
          // Refused outside the transaction, so that its audit event is not rolled back with it.
          return { takenBy: existing.hostname, credentialSent: input.heartbeatToken !== undefined };
        }
        // Conditional increment: two agents racing for the last use of a token cannot both get it.
        const { count } = await tx.joinToken.updateMany({
          where: { id: jt.id, uses: jt.uses },
          data: { uses: { increment: 1 }, lastUsedAt: now },
        });
        if (count !== 1)
          throw new ControlPlaneError(
            'CONFLICT',
            'Another host used the join token at the same moment: retry.',
          );
        const data = {
          hostname: input.hostname.toLowerCase(),
          agentUrl: input.agentUrl,
          agentTokenSealed: this.secrets.seal(agentToken, `host:${input.agentId}:agentToken`),
          heartbeatTokenHash: hashToken(heartbeatToken),
          arch: input.arch ?? null,
          kernel: input.kernel ?? null,
          dockerVersion: input.dockerVersion ?? null,
          facts: input.facts as Prisma.InputJsonValue,
          ...reconcileState(input, now),
          refusedAgentUrl: null,
          joinTokenId: jt.id,
          lastSeenAt: now,
        };
        return tx.host.upsert({
          where: { agentId: input.agentId },
          create: { agentId: input.agentId, ...data },
          update: data,
        });
      }),
    );
    if ('takenBy' in host) {
      await this.audit.record({
        actor: { id: null, name: `agent:${input.hostname}` },
        action: 'host.join',
        targets: [host.takenBy],
        params: { agentId: input.agentId, agentUrl: input.agentUrl, hostname: input.hostname },
        outcome: 'denied',
        detail: `agent id ${input.agentId} belongs to host ${host.takenBy}; the join ${host.credentialSent ? "carried another host's or an unknown" : 'carried no'} heartbeat credential`,
      });
      throw new ControlPlaneError(
        'FORBIDDEN',
        `Cannot join: agent id ${input.agentId} already belongs to host ${host.takenBy}, and this agent did not present that host's credential. If this is a reinstall or a copy of that host, remove ${host.takenBy} in the dashboard (Fleet > host > Remove host) and join again, or reset this agent's link (delete fleet-link.json in its state directory) to join as a new host.`,
      );
    }
    await this.recordSnapshot(host.id, input.entries, now);
    await this.audit.record({
      actor: { id: null, name: `agent:${input.hostname}` },
      action: 'host.join',
      targets: [input.hostname],
      params: { agentUrl: input.agentUrl },
      outcome: 'success',
    });
    return {
      hostId: host.id,
      agentToken,
      heartbeatToken,
      heartbeatIntervalMs: this.timing.heartbeatIntervalMs,
    };
  }

  /** The host a heartbeat credential belongs to, or an error the agent can act on. */
  async hostForHeartbeat(token: string | undefined) {
    const host = token
      ? await this.db.host.findUnique({ where: { heartbeatTokenHash: hashToken(token) } })
      : null;
    if (!host)
      throw new ControlPlaneError(
        'UNAUTHENTICATED',
        'Unknown agent credential: join again with a join token.',
      );
    return host;
  }

  /**
   * Stores what a heartbeat reports. An agent restarted on another address advertises a new URL: it
   * is followed when it passes the rule a join's URL passes; otherwise the host keeps the URL it had,
   * and the refusal is audited once per refused URL, not on every heartbeat. Returns why the URL was
   * refused, for the agent to log.
   */
  async heartbeat(
    host: Pick<Host, 'id' | 'agentUrl' | 'refusedAgentUrl'>,
    report: Heartbeat,
    now = new Date(),
  ): Promise<{ agentUrlRefused?: string }> {
    const advertised = report.agentUrl;
    const moved = advertised !== undefined && advertised !== host.agentUrl;
    const refused = moved ? agentUrlProblem(advertised, this.timing.agentUrlAllow ?? []) : undefined;
    const recorded = advertised === undefined ? undefined : agentUrlForRecord(advertised);
    const hostname = report.hostname.toLowerCase();
    await this.db.host.update({
      where: { id: host.id },
      data: {
        hostname,
        arch: report.arch ?? null,
        kernel: report.kernel ?? null,
        dockerVersion: report.dockerVersion ?? null,
        facts: report.facts as Prisma.InputJsonValue,
        ...reconcileState(report, now),
        ...(moved && !refused ? { agentUrl: advertised } : {}),
        refusedAgentUrl: refused ? recorded : null,
        lastSeenAt: now,
      },
    });
    await this.recordSnapshot(host.id, report.entries, new Date(now.getTime() - (report.entriesAgeMs ?? 0)));
    if (moved && (!refused || recorded !== host.refusedAgentUrl)) {
      this.log({
        msg: refused ? 'agent URL refused' : 'agent URL changed',
        host: hostname,
        from: host.agentUrl,
        to: recorded,
        ...(refused ? { reason: refused } : {}),
      });
      await this.audit.record({
        actor: { id: null, name: `agent:${hostname}` },
        action: 'host.agent-url',
        targets: [hostname],
        params: { from: host.agentUrl, to: recorded },
        outcome: refused ? 'denied' : 'success',
        ...(refused ? { detail: `kept ${host.agentUrl}: ${refused}` } : {}),
      });
    }
    return refused ? { agentUrlRefused: refused } : {};
  }

  /**
   * Stores the entries as read at `now` when they changed since the host's latest snapshot; returns
   * whether they did. A view older than the latest one (a heartbeat read before a job changed the
   * kernel, arriving after it) is dropped.
   */
  async recordSnapshot(hostId: string, entries: readonly KernelEntry[], now = new Date()): Promise<boolean> {
    const contentHash = snapshotHash(entries);
    const latest = await this.db.hostSnapshot.findFirst({ where: { hostId }, orderBy: { takenAt: 'desc' } });
    if (latest && latest.takenAt > now) return false;
    if (latest?.contentHash === contentHash) {
      await this.db.hostSnapshot.update({ where: { id: latest.id }, data: { lastSeenAt: now } });
      return false;
    }
    const json = entries as unknown as Prisma.InputJsonValue;
    await this.db.$transaction([
      this.db.hostSnapshot.create({
        data: { hostId, contentHash, entries: json, takenAt: now, lastSeenAt: now },
      }),
      this.db.host.update({ where: { id: hostId }, data: { entries: json, entriesTakenAt: now } }),
    ]);
    const old = await this.db.hostSnapshot.findMany({
      where: { hostId },
      orderBy: { takenAt: 'desc' },
      skip: SNAPSHOTS_KEPT,
      select: { id: true },
    });
    if (old.length > 0)
      await this.db.hostSnapshot.deleteMany({ where: { id: { in: old.map((o) => o.id) } } });
    return true;
  }

  where(filter: HostFilter, now = new Date()): Prisma.HostWhereInput {
    const since = this.onlineSince(now);
    return {
      ...(filter.search ? { hostname: { contains: filter.search.toLowerCase() } } : {}),
      ...(filter.group ? { groupName: filter.group } : {}),
      ...(filter.arch ? { arch: filter.arch } : {}),
      ...(filter.online === true ? { lastSeenAt: { gte: since } } : {}),
      ...(filter.online === false ? { OR: [{ lastSeenAt: null }, { lastSeenAt: { lt: since } }] } : {}),
    };
  }

  async ids(filter: HostFilter): Promise<string[]> {
    const rows = await this.db.host.findMany({ where: this.where(filter), select: { id: true } });
    return rows.map((r) => r.id);
  }

  /** The newest entries of each host, in one query (hosts carry a copy of their latest snapshot). */
  async latestEntries(hostIds: readonly string[]): Promise<Map<string, KernelEntry[]>> {
    const rows = await this.db.host.findMany({
      where: { id: { in: [...hostIds] } },
      select: { id: true, entries: true },
    });
    return new Map(rows.map((r) => [r.id, (r.entries as unknown as KernelEntry[] | null) ?? []]));
  }

  static entriesOf(host: { entries: unknown }): KernelEntry[] {
    return (host.entries as KernelEntry[] | null) ?? [];
  }

  drift(policy: PolicySpec | null, arch: string | null, entries: readonly KernelEntry[]): Drift[] {
    return policy ? computeDrift(policy, arch, entries) : [];
  }

  async setGroup(actor: SessionUser, hostIds: readonly string[], groupName: string | null) {
    await this.db.host.updateMany({ where: { id: { in: [...hostIds] } }, data: { groupName } });
    await this.audit.record({
      actor: actorOf(actor),
      action: 'host.set-group',
      targets: [...hostIds],
      params: { groupName },
      outcome: 'success',
    });
  }

  async remove(actor: SessionUser, hostId: string) {
    const host = await this.db.host.findUnique({ where: { id: hostId } });
    if (!host) throw new ControlPlaneError('NOT_FOUND', 'No such host.');
    await this.db.host.delete({ where: { id: hostId } });
    await this.audit.record({
      actor: actorOf(actor),
      action: 'host.remove',
      targets: [host.hostname],
      outcome: 'success',
    });
  }

  /** The credential to call this host's agent with, opened only for the call. */
  agentToken(host: { agentId: string; agentTokenSealed: string }): string {
    return this.secrets.open(host.agentTokenSealed, `host:${host.agentId}:agentToken`);
  }
}
