import { Prisma, type DatabaseProvider, type Db } from '@binfleet/db';

/**
 * What the fleet page's read models (FleetView's summary, drift, coverage and pages of rows) depend on
 * beyond the host rows' own columns, as FleetView hands it over: the policy table (its identity: a
 * policy change or a reread gives a new one) and the agent version this control plane serves.
 */
export interface FleetInputs {
  readonly policies: object;
  readonly servedAgentVersion: string | null;
}

/**
 * A look at whether the fleet changed, in one query over the host rows' small columns:
 * - how many hosts there are;
 * - a checksum of every host's updatedAt. Prisma sets it on every write to a host row, and the two
 *   raw updates of a row (its self-tests, written with their results) set it too. A sum, not the
 *   newest: a write that commits after a later one (a transaction that waited) still changes it;
 * - when the first host online now goes offline by itself (its lastSeenAt plus the offline window),
 *   the one change no write announces.
 */
interface FleetStamp extends FleetInputs {
  readonly hosts: number;
  readonly changes: number;
  /** Epoch ms at which a host online at the look goes offline; Infinity when none is online. */
  readonly validUntil: number;
}

/**
 * How long a kept model is served at most, whatever the stamp says: a second write to a host in the
 * same millisecond as its first leaves its updatedAt as it was, and shows within this.
 */
export const FLEET_READS_KEPT_MS = 2_000;
/** Models kept at once: a page per filter and offset, the three panels. */
const MAX_KEPT = 200;

/** The sum of every host's updatedAt in ms, each taken within its day (a day's ms: no overflow at any fleet size). */
const CHECKSUM: Record<DatabaseProvider, Prisma.Sql> = {
  // julianday is a float: rounded, not truncated, or a millisecond can come out as its neighbour.
  sqlite: Prisma.sql`CAST(ROUND((julianday("updatedAt") - 2440587.5) * 86400000) AS INTEGER) % 86400000`,
  postgresql: Prisma.sql`(EXTRACT(EPOCH FROM "updatedAt") * 1000)::bigint % 86400000`,
};

/**
 * Keeps the fleet's read models while the fleet has not changed: every dashboard session polls the
 * same summary, panels and first page, and each costs the server several queries and the work over
 * their rows (11 ms of CPU for the fleet page's batched request at 100 hosts, most of a page load).
 *
 * Each read looks at the stamp first (one query; calls of one request under way at once share it),
 * then serves what was computed under the same stamp, or computes it. The stamp is read before
 * computing, so what is kept is never older than its stamp says: a request that starts after a write
 * completed sees it (a second write to the same host within the same millisecond: within
 * FLEET_READS_KEPT_MS). On PostgreSQL every replica reads the stamp from the database, so another
 * replica's writes show alike.
 */
export class FleetReadCache {
  private readonly kept = new Map<string, { stamp: FleetStamp; at: number; value: Promise<unknown> }>();
  /** A stamp being read for a request: calls of that request that start meanwhile wait for it. */
  private readonly readingFor = new WeakMap<object, Promise<FleetStamp>>();
  private readonly checksum: Prisma.Sql;

  constructor(
    private readonly db: Db,
    provider: DatabaseProvider,
    /** How long a host stays online after its last heartbeat (HostService.onlineWindowMs). */
    private readonly onlineWindowMs: () => number,
    private readonly inputs: () => Promise<FleetInputs>,
    private readonly keptMs = FLEET_READS_KEPT_MS,
  ) {
    this.checksum = CHECKSUM[provider];
  }

  /**
   * The model under `key`: kept when the fleet has not changed since it was computed, else computed.
   * `request`: the request's own object (tRPC's context `reads`). Its calls that start while the
   * stamp is being read share that read (a batch's calls start together); a later call reads again,
   * so a caller that writes between two calls sees its write.
   */
  async read<T>(request: object | undefined, key: string, compute: () => Promise<T>): Promise<T> {
    const stamp = await this.stamp(request);
    const now = Date.now();
    const hit = this.kept.get(key);
    if (hit && now < hit.stamp.validUntil && now - hit.at < this.keptMs && sameFleet(hit.stamp, stamp))
      return hit.value as Promise<T>;
    const value = compute();
    if (this.kept.size >= MAX_KEPT)
      for (const [k, e] of this.kept)
        if (now - e.at >= this.keptMs || now >= e.stamp.validUntil) this.kept.delete(k);
    if (this.kept.size >= MAX_KEPT) this.kept.clear();
    const entry = { stamp, at: now, value };
    this.kept.set(key, entry);
    value.catch(() => {
      if (this.kept.get(key) === entry) this.kept.delete(key);
    });
    return value;
  }

  private stamp(request: object | undefined): Promise<FleetStamp> {
    if (!request) return this.readStamp();
    const reading = this.readingFor.get(request);
    if (reading) return reading;
    const stamp = this.readStamp();
    this.readingFor.set(request, stamp);
    const done = () => {
      if (this.readingFor.get(request) === stamp) this.readingFor.delete(request);
    };
    stamp.then(done, done);
    return stamp;
  }

  private async readStamp(): Promise<FleetStamp> {
    const window = this.onlineWindowMs();
    const since = new Date(Date.now() - window);
    const [[row], inputs] = await Promise.all([
      this.db.$queryRaw<
        { hosts: number | bigint; changes: number | bigint | null; oldest: Date | string | null }[]
      >`
        SELECT COUNT(*) AS "hosts", SUM(${this.checksum}) AS "changes",
          MIN(CASE WHEN "lastSeenAt" >= ${since} THEN "lastSeenAt" END) AS "oldest"
        FROM "Host"`,
      this.inputs(),
    ]);
    return {
      ...inputs,
      hosts: Number(row!.hosts),
      changes: Number(row!.changes ?? 0),
      validUntil: row!.oldest === null ? Infinity : new Date(row!.oldest).getTime() + window,
    };
  }
}

function sameFleet(a: FleetStamp, b: FleetStamp): boolean {
  return (
    a.hosts === b.hosts &&
    a.changes === b.changes &&
    a.policies === b.policies &&
    a.servedAgentVersion === b.servedAgentVersion
  );
}
