import { inBatches, Prisma, type Db } from '@binfleet/db';
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
  // Its latest self-tests' outcome, kept on the row with the results (hosts/self-tests.ts).
  selfTest: true,
  // Whether it has qemu entries comes from the digest of its entries (hosts/entries-digests.ts).
  entriesHash: true,
} satisfies Prisma.HostSelect;

export type AttentionRow = Prisma.HostGetPayload<{ select: typeof attentionSelect }>;

/** attentionSelect's columns, quoted, for the fleet-wide read in plain SQL. */
const ATTENTION_COLUMNS = Prisma.join(
  Object.keys(attentionSelect).map((column) => Prisma.raw(`"${column}"`)),
);

/**
 * The "needs attention" read model: the fleet-wide facts a host's reasons depend on (the served agent
 * version, agent URLs several hosts share), read once per page or count.
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
   * are the whole fleet, so the shared URLs are read for all hosts at once rather than through a list
   * of every host's URL.
   */
  async reasonsFor(
    rows: readonly AttentionRow[],
    everyHost = false,
  ): Promise<(row: AttentionRow) => AttentionReason[]> {
    const [served, shared, digests] = await Promise.all([
      this.servedAgentVersion(),
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
          selfTest: row.selfTest === 'failed' || row.selfTest === 'passed' ? row.selfTest : 'never',
          sharingAgentUrl: (shared.get(row.agentUrl) ?? [])
            .filter((h) => h.id !== row.id)
            .map((h) => h.hostname),
        },
      );
  }

  /** Ids of the hosts `where` matches that need attention (true) or not (false), in hostname order. */
  async ids(where: Prisma.HostWhereInput, attention: boolean): Promise<string[]> {
    const everyHost = Object.keys(where).length === 0;
    const rows = everyHost
      ? await this.everyHostsRows()
      : await this.db.host.findMany({ where, orderBy: { hostname: 'asc' }, select: attentionSelect });
    const reasons = await this.reasonsFor(rows, everyHost);
    return rows.filter((r) => reasons(r).length > 0 === attention).map((r) => r.id);
  }

  /**
   * attentionSelect of every host, in hostname order, as one plain query (the fleet-wide count of each
   * fleet page load): Prisma's client made 1,000 rows into objects in ~15 ms, its raw query in ~8 ms.
   * Both databases give the columns their model's types (Date, boolean).
   */
  private everyHostsRows(): Promise<AttentionRow[]> {
    return this.db.$queryRaw<AttentionRow[]>`SELECT ${ATTENTION_COLUMNS} FROM "Host" ORDER BY "hostname" ASC`;
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
