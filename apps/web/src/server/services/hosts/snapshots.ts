import { createHash } from 'node:crypto';
import type { KernelEntry } from '@binfleet/arch-table';
import { jsonValue, type Db, type Host } from '@binfleet/db';

/**
 * A host row's two JSON columns (its facts and its entries, kilobytes each): left out of reads that
 * do not use them, such as finding the host of every heartbeat.
 */
export const HOST_JSON_COLUMNS = { facts: true, entries: true } as const;

// Only the latest snapshots matter for the dashboard; older changes are kept up to this many per host.
const SNAPSHOTS_KEPT = 50;

/** The content hash of entries (a snapshot's, the host row's entriesHash): `held.entries` in heartbeat answers. */
export function entriesDigest(entries: readonly KernelEntry[]): string {
  const canonical = [...entries].sort((a, b) => a.name.localeCompare(b.name));
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/**
 * What recording a view of the entries did: `new`, stored as the host's latest; `same`, the host's
 * latest already has them; `older`, dropped, because the host's latest is newer and has others.
 */
export type RecordedEntries = 'new' | 'same' | 'older';

/** Each host's kernel entries over time, as joins, heartbeats and jobs read them. */
export class HostSnapshots {
  constructor(private readonly db: Db) {}

  /**
   * A heartbeat's view of the entries, for a host row read with its latest snapshot's hash and time
   * and its lastSeenAt (the beat updates that row). The same entries again, most beats, write
   * nothing: the snapshot is still the host's latest, and it was last seen when the host was (the
   * host page reads it so, `FleetView.host`). Entries that changed are recorded as record() does,
   * after the snapshot they replace is given the last time it was seen.
   */
  async recordSeen(
    hostId: string,
    entries: readonly KernelEntry[],
    at: Date,
    known: Partial<Pick<Host, 'entriesHash' | 'entriesTakenAt' | 'lastSeenAt'>>,
    contentHash = entriesDigest(entries),
  ): Promise<RecordedEntries> {
    const { entriesHash, entriesTakenAt, lastSeenAt } = known;
    if (!entriesHash || !entriesTakenAt || !lastSeenAt)
      return this.record(hostId, entries, at, known, contentHash);
    if (contentHash === entriesHash && entriesTakenAt <= at) return 'same';
    await this.db.hostSnapshot.updateMany({
      where: { hostId, takenAt: entriesTakenAt, contentHash: entriesHash, lastSeenAt: { lt: lastSeenAt } },
      data: { lastSeenAt },
    });
    return this.record(hostId, entries, at, known, contentHash);
  }

  /**
   * Stores the entries as read at `now` when they changed since the host's latest snapshot. A view
   * older than the latest one (a heartbeat read before a job changed the kernel, arriving after it)
   * is dropped.
   */
  async record(
    hostId: string,
    entries: readonly KernelEntry[],
    now = new Date(),
    known?: Partial<Pick<Host, 'entriesHash' | 'entriesTakenAt'>>,
    contentHash = entriesDigest(entries),
  ): Promise<RecordedEntries> {
    // The caller holds the host row, whose hash and time are its latest snapshot's (both are written
    // with each new one): the same entries again, most heartbeats, are a conditional update. The
    // condition is on the host row as it is now, so a row read before another change goes the long way.
    if (known?.entriesHash === contentHash && known.entriesTakenAt && known.entriesTakenAt <= now) {
      const taken = known.entriesTakenAt;
      const seen = await this.db.hostSnapshot.updateMany({
        where: {
          hostId,
          takenAt: taken,
          contentHash,
          host: { is: { entriesTakenAt: taken, entriesHash: contentHash } },
        },
        data: { lastSeenAt: now },
      });
      if (seen.count > 0) return 'same';
    }
    // One read of the host's kept snapshots (small columns only): the latest, and those a new one
    // pushes out of the kept window.
    const kept = await this.db.hostSnapshot.findMany({
      where: { hostId },
      orderBy: { takenAt: 'desc' },
      select: { id: true, takenAt: true, contentHash: true },
    });
    const latest = kept[0];
    if (latest && latest.takenAt > now) return latest.contentHash === contentHash ? 'same' : 'older';
    if (latest?.contentHash === contentHash) {
      await this.db.hostSnapshot.update({
        where: { id: latest.id },
        data: { lastSeenAt: now },
        select: { id: true },
      });
      return 'same';
    }
    const json = jsonValue(entries);
    const old = kept.slice(SNAPSHOTS_KEPT - 1).map((o) => o.id);
    // `select: { id }`: the rows written are not read back (their entries JSON would be, and decoded).
    await this.db.$transaction([
      this.db.hostSnapshot.create({
        data: { hostId, contentHash, entries: json, takenAt: now, lastSeenAt: now },
        select: { id: true },
      }),
      this.db.host.update({
        where: { id: hostId },
        data: { entries: json, entriesTakenAt: now, entriesHash: contentHash },
        select: { id: true },
      }),
      ...(old.length > 0 ? [this.db.hostSnapshot.deleteMany({ where: { id: { in: old } } })] : []),
    ]);
    return 'new';
  }
}
