import { inBatches, type Db, type Prisma } from '@binfleet/db';
import type { AgentRelease } from './agent-install/agent-release.ts';
import { attentionReasons, type AttentionReason } from './hosts/attention.ts';
import type { HostService } from './hosts/host-service.ts';

/** The columns "needs attention" reads: no facts, so that every host can be counted at once. */
export const attentionSelect = {
  id: true,
  hostname: true,
  lastSeenAt: true,
  agentUrl: true,
  transport: true,
  reachable: true,
  reachError: true,
  reachCheckedAt: true,
  binfmtMounted: true,
  binfmtWritable: true,
  reconcileError: true,
  agentVersion: true,
  // Whether it has qemu entries comes from the digest of its entries (hosts/entries-digests.ts).
  entriesHash: true,
} satisfies Prisma.HostSelect;

export type AttentionRow = Prisma.HostGetPayload<{ select: typeof attentionSelect }>;

/**
 * The "needs attention" read model: the fleet-wide facts a host's reasons depend on (the served agent
 * version, agent URLs several hosts share, self-test results), read once per page or count.
 */
export class FleetAttention {
  constructor(
    private readonly db: Db,
    private readonly hosts: HostService,
    private readonly release: AgentRelease,
  ) {}

  /** The agent version this control plane serves, or null when it serves none. */
  async servedAgentVersion(): Promise<string | null> {
    return this.release.manifest().then(
      (m) => m.version,
      () => null,
    );
  }

  /**
   * A function giving the reasons of each of `rows` (read with attentionSelect). `everyHost`: the rows
   * are the whole fleet, so the self-tests and shared URLs are read for all hosts at once rather than
   * through lists of every host's id and URL.
   */
  async reasonsFor(
    rows: readonly AttentionRow[],
    everyHost = false,
  ): Promise<(row: AttentionRow) => AttentionReason[]> {
    const [served, selfTests, shared, digests] = await Promise.all([
      this.servedAgentVersion(),
      this.selfTests(everyHost ? null : rows.map((r) => r.id)),
      this.sharedAgentUrls(everyHost ? null : rows.map((r) => r.agentUrl)),
      this.hosts.digests.of(rows.map((r) => r.entriesHash)),
    ]);
    const now = new Date();
    return (row) =>
      attentionReasons(
        {
          hostname: row.hostname,
          online: this.hosts.isOnline(row.lastSeenAt, now),
          agentUrl: row.agentUrl,
          transport: row.transport,
          reachable: row.reachable,
          reachError: row.reachError,
          binfmtMounted: row.binfmtMounted,
          binfmtWritable: row.binfmtWritable,
          reconcileError: row.reconcileError,
          agentVersion: row.agentVersion,
          hasQemuEntries: digests.get(row.entriesHash)?.hasQemuEntries ?? false,
        },
        {
          servedAgentVersion: served,
          selfTest: selfTests.get(row.id) ?? 'never',
          sharingAgentUrl: (shared.get(row.agentUrl) ?? [])
            .filter((h) => h.id !== row.id)
            .map((h) => h.hostname),
        },
      );
  }

  /** Ids of the hosts `where` matches that need attention (true) or not (false), in hostname order. */
  async ids(where: Prisma.HostWhereInput, attention: boolean): Promise<string[]> {
    const rows = await this.db.host.findMany({
      where,
      orderBy: { hostname: 'asc' },
      select: attentionSelect,
    });
    const reasons = await this.reasonsFor(rows, Object.keys(where).length === 0);
    return rows.filter((r) => reasons(r).length > 0 === attention).map((r) => r.id);
  }

  /**
   * Per host (of `hostIds`, or every host when null): whether any target's latest self-test failed, or
   * all passed; hosts never tested are absent.
   */
  private async selfTests(hostIds: readonly string[] | null) {
    if (!hostIds) return this.everyHostsSelfTests();
    const read = (hostId: { in: string[] }) =>
      this.db.verifyResult.findMany({
        where: { hostId, status: { in: ['passed', 'failed'] } },
        orderBy: { at: 'desc' },
        select: { hostId: true, target: true, method: true, status: true },
      });
    // Batched by host: each host's results come back together, newest first.
    const results = await inBatches(hostIds, (batch) => read({ in: batch }));
    const latest = new Map<string, Map<string, string>>();
    for (const r of results) {
      const m = latest.get(r.hostId) ?? new Map<string, string>();
      if (!m.has(`${r.target}/${r.method}`)) m.set(`${r.target}/${r.method}`, r.status);
      latest.set(r.hostId, m);
    }
    const out = new Map<string, 'failed' | 'passed'>();
    for (const [hostId, m] of latest)
      out.set(hostId, [...m.values()].includes('failed') ? 'failed' : 'passed');
    return out;
  }

  /**
   * The same for every host, worked out in the database: one row per host tested, not every result
   * ever recorded through Prisma (the fleet-wide count read them all on each view). Plain SQL that
   * SQLite and PostgreSQL both take: each (host, target, method)'s newest result, then per host
   * whether any of those failed.
   */
  private async everyHostsSelfTests(): Promise<Map<string, 'failed' | 'passed'>> {
    const rows = await this.db.$queryRaw<{ hostId: string; failed: number | bigint }[]>`
      SELECT "hostId", MAX(CASE WHEN "status" = 'failed' THEN 1 ELSE 0 END) AS "failed"
      FROM (
        SELECT "hostId", "status",
          ROW_NUMBER() OVER (PARTITION BY "hostId", "target", "method" ORDER BY "at" DESC) AS "newest"
        FROM "VerifyResult"
        WHERE "status" IN ('passed', 'failed')
      ) AS "latest"
      WHERE "newest" = 1
      GROUP BY "hostId"`;
    return new Map(rows.map((r) => [r.hostId, Number(r.failed) === 1 ? 'failed' : 'passed']));
  }

  /** Agent URLs among `urls` (any, when null) that more than one host advertises, with those hosts' names. */
  private async sharedAgentUrls(urls: readonly string[] | null) {
    const sharedAmong = (agentUrl: { in: string[] } | { not: string }) =>
      this.db.host.groupBy({
        by: ['agentUrl'],
        where: { agentUrl },
        _count: { _all: true },
        having: { agentUrl: { _count: { gt: 1 } } },
      });
    // Batched by URL: each URL's count is whole within its batch. Dial-out hosts have no URL (''):
    // nothing to share.
    const shared = urls
      ? await inBatches(
          [...new Set(urls)].filter((u) => u !== ''),
          (batch) => sharedAmong({ in: batch }),
        )
      : await sharedAmong({ not: '' });
    const many = shared.map((s) => s.agentUrl);
    const out = new Map<string, { id: string; hostname: string }[]>();
    if (many.length === 0) return out;
    const hosts = await inBatches(many, (batch) =>
      this.db.host.findMany({
        where: { agentUrl: { in: batch } },
        orderBy: { hostname: 'asc' },
        select: { id: true, hostname: true, agentUrl: true },
      }),
    );
    for (const h of hosts) out.set(h.agentUrl, [...(out.get(h.agentUrl) ?? []), h]);
    return out;
  }
}
