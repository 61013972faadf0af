import type { KernelEntry } from '@binfleet/arch-table';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../../testing/fixture.ts';
import {
  startInProcessControlPlane,
  type InProcessControlPlane,
} from '../../testing/in-process-control-plane.ts';

// A host's snapshot history on SQLite and PostgreSQL: a change is a new snapshot and the host's own
// entries; the same entries again only touch lastSeenAt; a view older than the latest is dropped; and
// no more than the kept number of snapshots stays per host.
const KEPT = 50;

function entries(n: number): KernelEntry[] {
  return [
    {
      name: `qemu-test-${n}`,
      enabled: true,
      interpreter: '/usr/bin/qemu-aarch64-static',
      flags: 'F',
      type: 'M',
      offset: 0,
      magic: '7f454c46',
      mask: 'ffffffff',
    },
  ];
}

describe.each(DATABASES)('host snapshots on %s', (_name, database) => {
  let fixture: InProcessControlPlane;
  let hostId: string;

  beforeAll(async () => {
    fixture = await startInProcessControlPlane({ name: 'snapshots', database });
    const host = await fixture.db.host.create({
      data: {
        agentId: 'agent-snap',
        hostname: 'snap-00',
        agentUrl: 'http://127.0.0.1:1',
        agentTokenSealed: 'not-a-sealed-token',
        heartbeatTokenHash: 'hash-snap',
      },
    });
    hostId = host.id;
  }, 60_000);

  afterAll(() => fixture?.stop());

  it('records changes, drops stale views and keeps the latest snapshots only', async () => {
    const snapshots = fixture.cp.hosts.snapshots;
    const t0 = Date.now();
    const at = (s: number) => new Date(t0 + s * 1000);

    expect(await snapshots.record(hostId, entries(0), at(0))).toBe('new');
    expect(await snapshots.record(hostId, entries(0), at(1))).toBe('same');
    let rows = await fixture.db.hostSnapshot.findMany({ where: { hostId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.lastSeenAt).toEqual(at(1));

    // Read before the latest, arriving after it: not recorded, the host keeps the newer entries.
    expect(await snapshots.record(hostId, entries(1), at(2))).toBe('new');
    expect(await snapshots.record(hostId, entries(0), at(1.5))).toBe('older');
    // Read before it with the same entries: the host has them.
    expect(await snapshots.record(hostId, entries(1), at(1.7))).toBe('same');
    let host = await fixture.db.host.findUniqueOrThrow({ where: { id: hostId } });
    expect(host.entries).toEqual(entries(1));
    expect(host.entriesTakenAt).toEqual(at(2));

    for (let i = 2; i < KEPT + 5; i++)
      expect(await snapshots.record(hostId, entries(i), at(1 + i))).toBe('new');
    rows = await fixture.db.hostSnapshot.findMany({ where: { hostId }, orderBy: { takenAt: 'desc' } });
    expect(rows).toHaveLength(KEPT);
    expect(rows[0]!.takenAt).toEqual(at(KEPT + 5));
    expect(rows.at(-1)!.takenAt).toEqual(at(6));
    host = await fixture.db.host.findUniqueOrThrow({ where: { id: hostId } });
    expect(host.entries).toEqual(entries(KEPT + 4));
    expect(host.entriesHash).toBe(rows[0]!.contentHash);

    // Given the host row (as a heartbeat holds it), the same entries again touch the latest only.
    const later = at(KEPT + 10);
    expect(await snapshots.record(hostId, entries(KEPT + 4), later, host)).toBe('same');
    const latest = await fixture.db.hostSnapshot.findMany({
      where: { hostId },
      orderBy: { takenAt: 'desc' },
    });
    expect(latest).toHaveLength(KEPT);
    expect(latest[0]!.lastSeenAt).toEqual(later);
    expect(latest[1]!.lastSeenAt).toEqual(rows[1]!.lastSeenAt);
    // A host row read before another change landed: its hash is no longer the latest's, so the entries
    // are compared with the snapshots themselves and recorded as a change.
    expect(await snapshots.record(hostId, entries(0), at(KEPT + 11), host)).toBe('new');
    expect(await snapshots.record(hostId, entries(KEPT + 4), at(KEPT + 12), host)).toBe('new');
    expect(await fixture.db.hostSnapshot.count({ where: { hostId } })).toBe(KEPT);
  });

  it("a heartbeat's same entries write no snapshot; the host page's last seen follows the host; a change dates the one it replaces", async () => {
    const snapshots = fixture.cp.hosts.snapshots;
    const t0 = Date.now() + 3_600_000;
    const at = (s: number) => new Date(t0 + s * 1000);
    const hostRow = () => fixture.db.host.findUniqueOrThrow({ where: { id: hostId } });
    expect(await snapshots.record(hostId, entries(900), at(0))).toBe('new');
    const latestRow = async () =>
      (await fixture.db.hostSnapshot.findFirstOrThrow({ where: { hostId }, orderBy: { takenAt: 'desc' } }))!;
    const first = await latestRow();

    // Three beats with the same entries, each after the host row's lastSeenAt was written (as a beat does).
    for (const s of [1, 2, 3]) {
      await fixture.db.host.update({ where: { id: hostId }, data: { lastSeenAt: at(s) } });
      const known = { ...(await hostRow()), lastSeenAt: at(s - 1) };
      expect(await snapshots.recordSeen(hostId, entries(900), at(s), known)).toBe('same');
    }
    expect(await latestRow()).toEqual(first);
    const page = await fixture.cp.fleet.host(hostId);
    expect(page.snapshot).toEqual({ takenAt: at(0), lastSeenAt: at(3) });

    // Then a change: the snapshot it replaces was last seen at the beat before it.
    const known = await hostRow();
    await fixture.db.host.update({ where: { id: hostId }, data: { lastSeenAt: at(4) } });
    expect(await snapshots.recordSeen(hostId, entries(901), at(4), known)).toBe('new');
    const replaced = await fixture.db.hostSnapshot.findUniqueOrThrow({ where: { id: first.id } });
    expect(replaced.lastSeenAt).toEqual(at(3));
    expect((await fixture.cp.fleet.host(hostId)).snapshot).toEqual({ takenAt: at(4), lastSeenAt: at(4) });
  });
});
