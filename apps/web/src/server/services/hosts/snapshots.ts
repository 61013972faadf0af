import { createHash } from 'node:crypto';
import type { KernelEntry } from '@binfleet/arch-table';
import type { Db, Prisma } from '@binfleet/db';

// Only the latest snapshots matter for the dashboard; older changes are kept up to this many per host.
const SNAPSHOTS_KEPT = 50;

function snapshotHash(entries: readonly KernelEntry[]): string {
  const canonical = [...entries].sort((a, b) => a.name.localeCompare(b.name));
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/** Each host's kernel entries over time, as joins, heartbeats and jobs read them. */
export class HostSnapshots {
  constructor(private readonly db: Db) {}

  /**
   * Stores the entries as read at `now` when they changed since the host's latest snapshot; returns
   * whether they did. A view older than the latest one (a heartbeat read before a job changed the
   * kernel, arriving after it) is dropped.
   */
  async record(hostId: string, entries: readonly KernelEntry[], now = new Date()): Promise<boolean> {
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
      this.db.host.update({
        where: { id: hostId },
        data: { entries: json, entriesTakenAt: now, entriesHash: contentHash },
      }),
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
}
