import { TARGET_IDS, type KernelEntry, type TargetId } from '@binfleet/arch-table';
import type { DatabaseProvider, Db, Prisma } from '@binfleet/db';
import { ControlPlaneError } from '../errors.ts';
import { attentionSelect, type FleetAttention } from './fleet-attention.ts';
import { FleetReadCache } from './fleet-read-cache.ts';
import type { AttentionReason } from './hosts/attention.ts';
import { driftKey } from './hosts/entries-digests.ts';
import { HostService, type HostFilter } from './hosts/host-service.ts';
import { wantedTargets, type Drift, type PolicySpec, type PolicyService } from './policy.ts';

export type CellState = 'registered' | 'disabled' | 'missing' | 'drifted' | 'extra';

export interface MatrixCell {
  readonly state: CellState;
  readonly verify?: 'passed' | 'failed';
}

/**
 * The host filters, and drift: only hosts that differ from their policy (true) or only those that match it
 * (false). A host without a policy is neither.
 */
export interface FleetFilter extends HostFilter {
  readonly drifted?: boolean | undefined;
  /** Only hosts that need attention (true) or only those that do not. */
  readonly attention?: boolean | undefined;
}

export interface FleetRow {
  readonly id: string;
  readonly hostname: string;
  readonly online: boolean;
  readonly lastSeenAt: Date | null;
  readonly arch: string | null;
  readonly kernel: string | null;
  readonly dockerVersion: string | null;
  readonly group: string | null;
  /** Differences from the host's policy; null when no policy applies, so drift is not computed. */
  readonly drift: number | null;
  readonly cells: Partial<Record<TargetId, MatrixCell>>;
  readonly agentUrl: string;
  /** 'direct' (the control plane calls agentUrl) or 'dial-out' (the agent holds a channel open; no URL). */
  readonly transport: string;
  readonly agentVersion: string | null;
  /** Whether the control plane reached the agent's API when it last tried (null: not yet), why not, when. */
  readonly reach: {
    readonly reachable: boolean | null;
    readonly error: string | null;
    readonly at: Date | null;
  };
  /** Why the host needs attention; empty: it does not. */
  readonly attention: readonly AttentionReason[];
}

/**
 * What a fleet row is made of: not the facts (kilobytes per host) or credentials the list never shows,
 * nor the entries: a row's cells and drift come from the digest of its entries (EntriesDigests).
 */
const fleetRowSelect = {
  ...attentionSelect,
  arch: true,
  kernel: true,
  dockerVersion: true,
  groupName: true,
} satisfies Prisma.HostSelect;

type FleetHost = Prisma.HostGetPayload<{ select: typeof fleetRowSelect }>;

/** What drift over many hosts reads: the hash of their entries, not the entries. */
const driftSelect = {
  id: true,
  groupName: true,
  arch: true,
  entriesHash: true,
} satisfies Prisma.HostSelect;

/**
 * Read models for the fleet page and the host page: hosts joined with snapshots, policies, verify results.
 * The fleet page's (page, summary, coverage, drift) are kept while the fleet does not change
 * (FleetReadCache); `request` is what one request's calls share (tRPC's context), so that they look
 * at whether it changed once.
 */
export class FleetView {
  private readonly reads: FleetReadCache;

  constructor(
    private readonly db: Db,
    private readonly hosts: HostService,
    private readonly policies: PolicyService,
    private readonly attention: FleetAttention,
    provider: DatabaseProvider,
  ) {
    this.reads = new FleetReadCache(
      db,
      provider,
      () => hosts.onlineWindowMs,
      async () => {
        const [table, servedAgentVersion] = await Promise.all([
          policies.current(),
          attention.servedAgentVersion(),
        ]);
        return { policies: table, servedAgentVersion };
      },
    );
  }

  page(filter: FleetFilter, page: { offset: number; limit: number }, request?: object) {
    return this.reads.read(request, `page|${JSON.stringify([filter, page.offset, page.limit])}`, () =>
      this.computePage(filter, page),
    );
  }

  summary(request?: object) {
    return this.reads.read(request, 'summary', () => this.computeSummary());
  }

  coverage(request?: object) {
    return this.reads.read(request, 'coverage', () => this.computeCoverage());
  }

  drift(request?: object) {
    return this.reads.read(request, 'drift', () => this.computeDrift());
  }

  private async computePage(filter: FleetFilter, page: { offset: number; limit: number }) {
    const where = this.hosts.where(filter);
    const policies = this.policies.resolver();
    let total: number;
    let rows: FleetHost[];
    let policyOf: Awaited<typeof policies>;
    if (filter.drifted === undefined && filter.attention === undefined) {
      [total, rows, policyOf] = await Promise.all([
        this.db.host.count({ where }),
        this.db.host.findMany({
          where,
          orderBy: { hostname: 'asc' },
          skip: page.offset,
          take: page.limit,
          select: fleetRowSelect,
        }),
        policies,
      ]);
    } else {
      policyOf = await policies;
      const ids = await this.filteredIds(where, filter, policyOf);
      total = ids.length;
      rows = await this.db.host.findMany({
        where: { id: { in: ids.slice(page.offset, page.offset + page.limit) } },
        orderBy: { hostname: 'asc' },
        select: fleetRowSelect,
      });
    }
    const [verify, reasons, matrix] = await Promise.all([
      this.latestVerify(rows.map((r) => r.id)),
      this.attention.reasonsFor(rows),
      this.matrixRows(
        rows.map((h) => ({ hash: h.entriesHash, arch: h.arch, policy: policyOf(h.groupName) })),
      ),
    ]);
    const items = rows.map((h, i) => this.row(h, matrix[i]!, reasons(h), verify.get(h.id)));
    return { total, items };
  }

  /**
   * Each host's drift count (null: no policy) and cells without self-tests, worked out once per set of
   * entries, architecture and policy: hosts of a group with the same entries share them.
   */
  private matrixRows(
    hosts: readonly { hash: string | null; arch: string | null; policy: PolicySpec | null }[],
  ) {
    return this.hosts.digests.derive(
      hosts.map((h) => ({ hash: h.hash, key: `cells|${h.policy ? driftKey(h.policy, h.arch) : ''}` })),
      (entries, i): MatrixRow => {
        const { arch, policy } = hosts[i]!;
        const drift = this.hosts.drift(policy, arch, entries);
        return {
          drift: policy ? drift.length : null,
          cells: cellsOf(policy ? wantedTargets(policy, arch) : [], entries, drift),
        };
      },
    );
  }

  /** Every host the filter matches, for "select all matching hosts". */
  async ids(filter: FleetFilter): Promise<string[]> {
    if (filter.drifted === undefined && filter.attention === undefined) return this.hosts.ids(filter);
    return this.filteredIds(this.hosts.where(filter), filter, await this.policies.resolver());
  }

  /** Ids for the filters computed in memory (drift, attention), both when both are set, in hostname order. */
  private async filteredIds(
    where: Prisma.HostWhereInput,
    filter: FleetFilter,
    policyOf: (group: string | null) => PolicySpec | null,
  ): Promise<string[]> {
    let ids: string[] | undefined;
    if (filter.drifted !== undefined) ids = await this.idsByDrift(where, filter.drifted, policyOf);
    if (filter.attention !== undefined) {
      // Both lists are in hostname order; intersected here, not with an `in` list of every drifted host.
      const attention = await this.attention.ids(where, filter.attention);
      const drifted = ids && new Set(ids);
      ids = drifted ? attention.filter((id) => drifted.has(id)) : attention;
    }
    return ids ?? [];
  }

  /**
   * Drift is computed from each host's entries and its policy, kept per version of the entries
   * (EntriesDigests), so this filter reads the small columns of every host the other filters let
   * through, in hostname order.
   */
  private async idsByDrift(
    where: Prisma.HostWhereInput,
    drifted: boolean,
    policyOf: (group: string | null) => PolicySpec | null,
  ): Promise<string[]> {
    const hosts = await this.db.host.findMany({
      where,
      orderBy: { hostname: 'asc' },
      select: driftSelect,
    });
    const governed = hosts.flatMap((h) => {
      const policy = policyOf(h.groupName);
      return policy ? [{ id: h.id, hash: h.entriesHash, arch: h.arch, policy }] : [];
    });
    const counts = await this.hosts.digests.driftCounts(governed);
    return governed.filter((_, i) => counts[i]! > 0 === drifted).map((h) => h.id);
  }

  private async computeSummary() {
    const since = this.hosts.onlineSince();
    const [total, online, groups, archs, attention, servedAgentVersion] = await Promise.all([
      this.db.host.count(),
      this.db.host.count({ where: { lastSeenAt: { gte: since } } }),
      this.db.host.groupBy({ by: ['groupName'], _count: { _all: true } }),
      this.db.host.groupBy({ by: ['arch'], _count: { _all: true } }),
      this.attention.ids({}, true),
      this.attention.servedAgentVersion(),
    ]);
    return {
      total,
      online,
      attention: attention.length,
      servedAgentVersion,
      groups: groups.filter((g) => g.groupName).map((g) => ({ name: g.groupName!, hosts: g._count._all })),
      archs: archs.filter((a) => a.arch).map((a) => ({ arch: a.arch!, hosts: a._count._all })),
    };
  }

  /**
   * How many online hosts can run each target now (registered and enabled). Hosts are counted by the
   * hash of their entries, and each distinct set of entries is looked at once.
   */
  private async computeCoverage() {
    const byHash = await this.db.host.groupBy({
      by: ['entriesHash'],
      where: { lastSeenAt: { gte: this.hosts.onlineSince() } },
      _count: { _all: true },
    });
    const digests = await this.hosts.digests.of(byHash.map((g) => g.entriesHash));
    const count = new Map<string, number>();
    for (const g of byHash)
      for (const target of digests.get(g.entriesHash)!.enabledTargets)
        count.set(target, (count.get(target) ?? 0) + g._count._all);
    return TARGET_IDS.map((target) => ({ target, hosts: count.get(target) ?? 0 })).filter((c) => c.hosts > 0);
  }

  /**
   * Hosts that differ from their policy, overall and per group, and how many hosts no policy governs (their
   * drift is not computed, so they are never counted as matching). One query: hosts counted by group,
   * architecture and the hash of their entries, whose drift is worked out once per distinct triple.
   */
  private async computeDrift() {
    const [byKind, policyOf] = await Promise.all([
      this.db.host.groupBy({ by: ['groupName', 'arch', 'entriesHash'], _count: { _all: true } }),
      this.policies.resolver(),
    ]);
    const governed = byKind.flatMap((k) => {
      const policy = policyOf(k.groupName);
      return policy ? [{ hash: k.entriesHash, arch: k.arch, policy }] : [];
    });
    const counts = await this.hosts.digests.driftCounts(governed);
    const groups = new Map<string | null, { hosts: number; drifted: number; hasPolicy: boolean }>();
    let drifted = 0;
    let withoutPolicy = 0;
    let next = 0;
    for (const k of byKind) {
      const hosts = k._count._all;
      const policy = policyOf(k.groupName);
      const isDrifted = policy !== null && counts[next++]! > 0;
      const g = groups.get(k.groupName) ?? { hosts: 0, drifted: 0, hasPolicy: policy !== null };
      groups.set(k.groupName, { ...g, hosts: g.hosts + hosts, drifted: g.drifted + (isDrifted ? hosts : 0) });
      if (isDrifted) drifted += hosts;
      if (!policy) withoutPolicy += hosts;
    }
    return {
      drifted,
      withoutPolicy,
      groups: [...groups]
        .map(([group, counts]) => ({ group, ...counts }))
        .sort((a, b) => (a.group ?? '').localeCompare(b.group ?? '')),
    };
  }

  async host(id: string) {
    const h = await this.db.host.findUnique({ where: { id } });
    if (!h) throw new ControlPlaneError('NOT_FOUND', 'No such host: it may have been removed.');
    const policy = await this.policies.forGroup(h.groupName);
    const entries = HostService.entriesOf(h);
    const latestSnapshot = await this.db.hostSnapshot.findFirst({
      where: { hostId: id },
      orderBy: { takenAt: 'desc' },
      select: { takenAt: true, lastSeenAt: true, contentHash: true },
    });
    // Heartbeats with the same entries write only the host row (HostSnapshots.recordSeen): the
    // host's current snapshot was last seen when the host was.
    const current =
      latestSnapshot !== null &&
      latestSnapshot.contentHash === h.entriesHash &&
      latestSnapshot.takenAt.getTime() === h.entriesTakenAt?.getTime();
    const snapshot = latestSnapshot && {
      takenAt: latestSnapshot.takenAt,
      lastSeenAt:
        current && h.lastSeenAt && h.lastSeenAt > latestSnapshot.lastSeenAt
          ? h.lastSeenAt
          : latestSnapshot.lastSeenAt,
    };
    const verify = await this.db.verifyResult.findMany({
      where: { hostId: id },
      orderBy: { at: 'desc' },
      take: 200,
    });
    const latest = new Map<string, (typeof verify)[number]>();
    for (const v of verify)
      if (!latest.has(`${v.target}/${v.method}`)) latest.set(`${v.target}/${v.method}`, v);
    const jobs = await this.db.jobTarget.findMany({
      where: { hostId: id },
      orderBy: { job: { createdAt: 'desc' } },
      take: 20,
      include: { job: { select: { id: true, kind: true, createdAt: true, status: true } } },
    });
    const drift = this.hosts.drift(policy, h.arch, entries);
    const [reasons, servedAgentVersion] = await Promise.all([
      this.attention.reasonsFor([h]),
      this.attention.servedAgentVersion(),
    ]);
    return {
      id: h.id,
      hostname: h.hostname,
      online: this.hosts.isOnline(h.lastSeenAt),
      lastSeenAt: h.lastSeenAt,
      createdAt: h.createdAt,
      arch: h.arch,
      kernel: h.kernel,
      dockerVersion: h.dockerVersion,
      group: h.groupName,
      agentUrl: h.agentUrl,
      transport: h.transport,
      refusedAgentUrl: h.refusedAgentUrl,
      reach: { reachable: h.reachable, error: h.reachError, at: h.reachCheckedAt },
      credential: {
        // A rotation waiting for the agent's next heartbeat, and when one last took effect.
        rotationAskedAt: h.pendingHeartbeatTokenHash ? h.credentialRotationAskedAt : null,
        rotationAskedBy: h.pendingHeartbeatTokenHash ? h.credentialRotationAskedBy : null,
        rotatedAt: h.credentialRotatedAt,
      },
      attention: reasons(h),
      agentVersion: h.agentVersion,
      servedAgentVersion,
      reconcileError:
        h.reconcileError === null ? null : { message: h.reconcileError, at: h.reconcileErrorAt },
      facts: h.facts,
      entries,
      snapshot,
      policy,
      drift,
      verify: [...latest.values()].sort(
        (a, b) => a.target.localeCompare(b.target) || a.method.localeCompare(b.method),
      ),
      jobs: jobs.map((j) => ({
        jobId: j.job.id,
        kind: j.job.kind,
        createdAt: j.job.createdAt,
        status: j.status,
        error: j.error,
      })),
    };
  }

  private row(
    h: FleetHost,
    matrix: MatrixRow,
    attention: readonly AttentionReason[],
    verify?: Map<string, 'passed' | 'failed'>,
  ): FleetRow {
    return {
      id: h.id,
      hostname: h.hostname,
      online: this.hosts.isOnline(h.lastSeenAt),
      lastSeenAt: h.lastSeenAt,
      arch: h.arch,
      kernel: h.kernel,
      dockerVersion: h.dockerVersion,
      group: h.groupName,
      drift: matrix.drift,
      cells: verify ? withSelfTests(matrix.cells, verify) : matrix.cells,
      agentUrl: h.agentUrl,
      transport: h.transport,
      agentVersion: h.agentVersion,
      reach: { reachable: h.reachable, error: h.reachError, at: h.reachCheckedAt },
      attention,
    };
  }

  private async latestVerify(hostIds: readonly string[]) {
    const rows = await this.db.verifyResult.findMany({
      where: { hostId: { in: [...hostIds] }, status: { in: ['passed', 'failed'] } },
      orderBy: { at: 'desc' },
      select: { hostId: true, target: true, status: true },
      take: hostIds.length * 80,
    });
    const out = new Map<string, Map<string, 'passed' | 'failed'>>();
    for (const r of rows) {
      const m = out.get(r.hostId) ?? new Map();
      // A failure of any method wins over a pass at the same recency level.
      if (!m.has(r.target)) m.set(r.target, r.status as 'passed' | 'failed');
      out.set(r.hostId, m);
    }
    return out;
  }
}

/** A fleet row's drift count and cells as its entries, architecture and policy make them. */
interface MatrixRow {
  readonly drift: number | null;
  readonly cells: Partial<Record<TargetId, MatrixCell>>;
}

/** The cells with each target's self-test result added (new cells: the ones given are shared). */
function withSelfTests(
  cells: Partial<Record<TargetId, MatrixCell>>,
  verify: Map<string, 'passed' | 'failed'>,
): Partial<Record<TargetId, MatrixCell>> {
  const out: Partial<Record<TargetId, MatrixCell>> = {};
  for (const [target, cell] of Object.entries(cells) as [TargetId, MatrixCell][]) {
    const v = verify.get(target);
    out[target] = v ? { state: cell.state, verify: v } : cell;
  }
  return out;
}

export function cellsOf(
  wanted: readonly TargetId[],
  entries: readonly KernelEntry[],
  drift: readonly Drift[],
): Partial<Record<TargetId, MatrixCell>> {
  const cells: Partial<Record<TargetId, MatrixCell>> = {};
  const present = new Map(entries.filter((e) => e.name.startsWith('qemu-')).map((e) => [e.name.slice(5), e]));
  const drifted = new Set(drift.filter((d) => d.kind.startsWith('wrong-')).map((d) => d.target));
  for (const target of TARGET_IDS) {
    const entry = present.get(target);
    const isWanted = wanted.includes(target);
    let state: CellState | undefined;
    if (!entry) state = isWanted ? 'missing' : undefined;
    else if (!entry.enabled) state = 'disabled';
    else if (drifted.has(target)) state = 'drifted';
    else state = isWanted || wanted.length === 0 ? 'registered' : 'extra';
    if (state) cells[target] = { state };
  }
  return cells;
}
