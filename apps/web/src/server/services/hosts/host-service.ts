import type { KernelEntry } from '@binfleet/arch-table';
import type { Db, Prisma, SecretBox } from '@binfleet/db';
import { ControlPlaneError } from '../../errors.ts';
import type { AuditService } from '../audit.ts';
import { actorOf, type SessionUser } from '../auth.ts';
import { computeDrift, type Drift, type PolicySpec } from '../policy.ts';
import { agentTokenContext, CredentialRotation } from './credential-rotation.ts';
import { Enrolment } from './enrolment.ts';
import { EntriesDigests } from './entries-digests.ts';
import { JoinTokenService } from './join-tokens.ts';
import { SelfTests } from './self-tests.ts';
import { HostSnapshots } from './snapshots.ts';

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

/**
 * The fleet's hosts: who is online, filters, entries and drift, groups, removal, the credential to
 * call an agent with. How hosts come in is apart: join tokens (join-tokens.ts) and the joins and
 * heartbeats they admit (enrolment.ts); each host's entries over time in snapshots.ts; rotating a
 * host's credentials in credential-rotation.ts.
 */
export class HostService {
  readonly joinTokens: JoinTokenService;
  readonly enrolment: Enrolment;
  readonly snapshots: HostSnapshots;
  readonly credentials: CredentialRotation;
  readonly digests: EntriesDigests;
  readonly selfTests: SelfTests;

  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox,
    private readonly audit: AuditService,
    private readonly timing: HostTiming,
    log: (line: Record<string, unknown>) => void = (l) => console.log(JSON.stringify(l)),
  ) {
    this.joinTokens = new JoinTokenService(db, audit);
    this.snapshots = new HostSnapshots(db);
    this.digests = new EntriesDigests(db);
    this.selfTests = new SelfTests(db);
    this.credentials = new CredentialRotation(db, secrets, audit);
    this.enrolment = new Enrolment(db, secrets, audit, timing, this.snapshots, this.credentials, log);
  }

  /** How long a host stays online after its last heartbeat. */
  get onlineWindowMs(): number {
    return this.timing.heartbeatIntervalMs * this.timing.offlineAfterMissed;
  }

  /** Hosts whose last heartbeat is older than this are offline. */
  onlineSince(now = new Date()): Date {
    return new Date(now.getTime() - this.onlineWindowMs);
  }

  isOnline(lastSeenAt: Date | null, now = new Date()): boolean {
    return lastSeenAt !== null && lastSeenAt >= this.onlineSince(now);
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

  /** All or nothing: a host that is not there fails the whole change (audited as a failure). */
  async setGroup(actor: SessionUser, hostIds: readonly string[], groupName: string | null) {
    const found = await this.db.host.findMany({ where: { id: { in: [...hostIds] } }, select: { id: true } });
    const missing = [...new Set(hostIds)].filter((id) => !found.some((h) => h.id === id));
    if (missing.length > 0) {
      await this.audit.record({
        actor: actorOf(actor),
        action: 'host.set-group',
        targets: [...hostIds],
        params: { groupName, missing },
        outcome: 'failure',
        detail: `no such host: ${missing.join(', ')}`,
      });
      throw new ControlPlaneError(
        'NOT_FOUND',
        `No such host (${missing.length} of ${hostIds.length}): reload the list.`,
      );
    }
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
    // Removing what is not there is no success: said so, and audited as a failure.
    if (!host) {
      await this.audit.record({
        actor: actorOf(actor),
        action: 'host.remove',
        targets: [hostId],
        outcome: 'failure',
        detail: 'no such host',
      });
      throw new ControlPlaneError('NOT_FOUND', 'No such host: it was removed already, reload the list.');
    }
    // Revoked at once: the row and its credentials go, and the heartbeat credential's hash is kept so
    // that its agent's next heartbeat is told why it is refused, and that refusal is audited. A rotation
    // under way: its agent may heartbeat with the new credential already, so that one too.
    const heartbeatHashes = [host.heartbeatTokenHash, host.pendingHeartbeatTokenHash].filter(
      (hash): hash is string => hash !== null,
    );
    await this.db.$transaction([
      this.db.host.delete({ where: { id: hostId } }),
      ...heartbeatHashes.map((heartbeatTokenHash) =>
        this.db.revokedHostCredential.upsert({
          where: { heartbeatTokenHash },
          create: { heartbeatTokenHash, hostname: host.hostname, revokedBy: actor.username },
          update: { hostname: host.hostname, revokedBy: actor.username, reason: 'removed' },
        }),
      ),
    ]);
    await this.audit.record({
      actor: actorOf(actor),
      action: 'host.remove',
      targets: [host.hostname],
      params: { agentUrl: host.agentUrl },
      outcome: 'success',
      detail: 'its agent credentials are revoked: its next heartbeat is refused',
    });
  }

  /** The credential to call this host's agent with, opened only for the call. */
  agentToken(host: { agentId: string; agentTokenSealed: string }): string {
    return this.secrets.open(host.agentTokenSealed, agentTokenContext(host.agentId));
  }
}
