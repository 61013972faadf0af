import { expectedEntry, targetRegisterSpec, type KernelEntry, type TargetId } from '@binfleet/arch-table';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { appRouter } from '../../routers/index.ts';
import type { ControlPlane } from '../control-plane.ts';
import { DATABASES } from '../../testing/fixture.ts';
import {
  startInProcessControlPlane,
  type InProcessControlPlane,
} from '../../testing/in-process-control-plane.ts';

// A host's heartbeat is one conditional write (one SQL statement) when this process kept its row from the last one
// (Enrolment.beat), on SQLite and PostgreSQL; whatever else changed the row since (a group, a
// rotation, another replica's heartbeat, new entries, a removal) sends it the long way, so nothing
// is decided on a row that is no longer there.

/** An entry as a kernel shows it after registering `target` (the arch table's), switched on or off. */
const entry = (target: TargetId, enabled = true): KernelEntry => ({
  ...expectedEntry(
    targetRegisterSpec(target, { interpreterDir: '/usr/bin', suffix: '-static', persistent: true }),
  ),
  enabled,
});

describe.each(DATABASES)('heartbeats of a kept host on %s', (_name, database) => {
  let plane: InProcessControlPlane;
  let n = 0;

  beforeAll(async () => {
    plane = await startInProcessControlPlane({ name: 'heartbeat-kept', database });
  }, 120_000);
  afterAll(() => plane?.stop());

  const join = async () => {
    n++;
    const { token } = await plane.admin.tokens.create({ label: `kept-${n}`, expiresInHours: 1, maxUses: 1 });
    const joined = await plane.cp.hosts.enrolment.join({
      joinToken: token,
      agentId: `kept-agent-${String(n).padStart(4, '0')}`,
      agentUrl: `http://127.0.0.1:${3000 + n}`,
      hostname: `kept-${n}`,
      facts: {},
      entries: [entry('aarch64')],
    } as unknown as Parameters<typeof plane.cp.hosts.enrolment.join>[0]);
    return joined;
  };
  /** The agent's heartbeat with `report` as it is (facts or entries left out, named in `unchanged`). */
  const callerOf = (heartbeatToken: string, cp: ControlPlane = plane.cp) =>
    appRouter.createCaller({
      cp,
      session: null,
      sessionToken: undefined,
      bearer: heartbeatToken,
      csrf: undefined,
      resHeaders: new Headers(),
      reads: {},
    }).agentApi.heartbeat;

  /** The agent's side: its heartbeat through the API, with its credential, to `cp`, as `hostname`. */
  const agentOf = (heartbeatToken: string, cp: ControlPlane = plane.cp, hostname = () => `kept-${n}`) => {
    const heartbeat = callerOf(heartbeatToken, cp);
    return (entries: KernelEntry[] = [entry('aarch64')], facts: Record<string, unknown> = {}) =>
      heartbeat({ hostname: hostname(), facts, entries } as never);
  };
  const snapshots = (hostId: string) => plane.db.hostSnapshot.count({ where: { hostId } });

  it('reads no host row on the heartbeats after the first, and writes once each', async () => {
    const { hostId, heartbeatToken } = await join();
    const beat = agentOf(heartbeatToken);
    await beat();
    const reads = vi.spyOn(plane.db.host, 'findUnique');
    const writes = vi.spyOn(plane.db, '$executeRaw');
    const updates = vi.spyOn(plane.db.host, 'update');
    try {
      const before = await plane.db.host.findUniqueOrThrow({ where: { id: hostId } });
      reads.mockClear();
      await beat();
      const facts = { agentVersion: '9.9.9', binfmt: { mounted: true, writable: false }, note: 'kept' };
      await beat([entry('aarch64')], facts);
      expect(reads).not.toHaveBeenCalled();
      expect(updates).not.toHaveBeenCalled();
      expect(writes).toHaveBeenCalledTimes(2);
      const after = await plane.db.host.findUniqueOrThrow({ where: { id: hostId } });
      expect(after.lastSeenAt!.getTime()).toBeGreaterThan(before.lastSeenAt!.getTime());
      // Written as Prisma would: the facts as JSON, their columns, updatedAt moved (the fleet's
      // read models go by it).
      expect(after).toMatchObject({
        facts,
        agentVersion: '9.9.9',
        binfmtMounted: true,
        binfmtWritable: false,
      });
      expect(after.updatedAt.getTime()).toBeGreaterThan(before.updatedAt.getTime());
      expect(await snapshots(hostId)).toBe(1);
    } finally {
      reads.mockRestore();
      writes.mockRestore();
      updates.mockRestore();
    }
  });

  it('goes the long way after another write: a group, a rotation, another replica, new entries', async () => {
    const { hostId, heartbeatToken } = await join();
    const beat = agentOf(heartbeatToken);
    await beat();
    const reads = vi.spyOn(plane.db.host, 'findUnique');
    try {
      // A group: read again, and the row keeps it.
      await plane.admin.fleet.setGroup({ hostIds: [hostId], group: 'kept-blue' });
      reads.mockClear();
      await beat();
      expect(reads).toHaveBeenCalled();
      expect((await plane.db.host.findUniqueOrThrow({ where: { id: hostId } })).groupName).toBe('kept-blue');

      // A rotation asked for: the very next answer offers the new credential.
      await plane.admin.fleet.rotateCredential({ id: hostId });
      const offered = await beat();
      expect(offered.newCredential?.heartbeatToken).toEqual(expect.any(String));
      // The agent takes it into use; the old credential, kept from its last heartbeat here, is
      // refused from then on.
      const rotated = agentOf(offered.newCredential!.heartbeatToken);
      await rotated();
      await expect(beat()).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        message: expect.stringMatching(/was replaced/),
      });

      // Another replica takes a heartbeat with new entries: here, the next one (the same entries
      // again) is no new view.
      const replica = plane.addReplica();
      await agentOf(offered.newCredential!.heartbeatToken, replica.cp)([entry('aarch64'), entry('s390x')]);
      const views = await snapshots(hostId);
      expect(views).toBe(2);
      reads.mockClear();
      await rotated([entry('aarch64'), entry('s390x')]);
      expect(reads).toHaveBeenCalled();
      expect(await snapshots(hostId)).toBe(views);

      // New entries here: stored, and the heartbeat after reads the row again.
      await rotated([entry('aarch64', false), entry('s390x')]);
      expect(await snapshots(hostId)).toBe(views + 1);
      reads.mockClear();
      await rotated([entry('aarch64', false), entry('s390x')]);
      expect(reads).toHaveBeenCalled();
      expect(await snapshots(hostId)).toBe(views + 1);
    } finally {
      reads.mockRestore();
    }
  });

  it('takes facts and entries named by the digests it answered: one write, the facts and their columns left as they are', async () => {
    const { hostId, heartbeatToken } = await join();
    const heartbeat = callerOf(heartbeatToken);
    const facts = { agentVersion: '9.9.9', binfmt: { mounted: true, writable: true }, note: 'digests' };
    const first = await heartbeat({ hostname: `kept-${n}`, facts, entries: [entry('aarch64')] });
    const row = await plane.db.host.findUniqueOrThrow({ where: { id: hostId } });
    // The digests of what it carried, as the row keeps them.
    expect(first.held).toEqual({ facts: row.factsHash, entries: row.entriesHash });
    expect(first.held!.facts).toMatch(/^[0-9a-f]{64}$/);

    const writes = vi.spyOn(plane.db, '$executeRaw');
    const reads = vi.spyOn(plane.db.host, 'findUnique');
    const updates = vi.spyOn(plane.db.host, 'update');
    try {
      const again = await heartbeat({ hostname: `kept-${n}`, unchanged: first.held });
      expect(again).toMatchObject({ held: first.held });
      expect(again.resend).toBeUndefined();
      expect(writes).toHaveBeenCalledTimes(1);
      expect(reads).not.toHaveBeenCalled();
      expect(updates).not.toHaveBeenCalled();
    } finally {
      writes.mockRestore();
      reads.mockRestore();
      updates.mockRestore();
    }
    const after = await plane.db.host.findUniqueOrThrow({ where: { id: hostId } });
    expect(after.lastSeenAt!.getTime()).toBeGreaterThan(row.lastSeenAt!.getTime());
    expect(after).toMatchObject({
      facts,
      factsHash: row.factsHash,
      agentVersion: '9.9.9',
      binfmtMounted: true,
      binfmtWritable: true,
      entriesHash: row.entriesHash,
    });
    expect(await snapshots(hostId)).toBe(1);

    // New entries, the same facts: the entries recorded, the facts still named.
    const changed = await heartbeat({
      hostname: `kept-${n}`,
      unchanged: { facts: first.held!.facts },
      entries: [entry('aarch64'), entry('s390x')],
    });
    expect(changed.held!.facts).toBe(first.held!.facts);
    expect(changed.held!.entries).not.toBe(first.held!.entries);
    expect(await snapshots(hostId)).toBe(2);
    expect(await plane.db.host.findUniqueOrThrow({ where: { id: hostId } })).toMatchObject({
      facts,
      entriesHash: changed.held!.entries,
    });
  });

  it('answers resend to digests the host does not hold, and writes nothing: entries another replica took, an unknown digest', async () => {
    const { hostId, heartbeatToken } = await join();
    const heartbeat = callerOf(heartbeatToken);
    const facts = { agentVersion: '9.9.9', note: 'resend' };
    const first = await heartbeat({ hostname: `kept-${n}`, facts, entries: [entry('aarch64')] });
    await heartbeat({ hostname: `kept-${n}`, unchanged: first.held });

    // Another replica takes a heartbeat with other entries: this process's kept row still has the old
    // digest, so it is read again, and the digest is found to be no longer the host's.
    const replica = plane.addReplica();
    await callerOf(
      heartbeatToken,
      replica.cp,
    )({
      hostname: `kept-${n}`,
      facts,
      entries: [entry('aarch64'), entry('s390x')],
    });
    const before = await plane.db.host.findUniqueOrThrow({ where: { id: hostId } });
    const views = await snapshots(hostId);
    const stale = await heartbeat({ hostname: `kept-${n}`, unchanged: first.held });
    expect(stale).toMatchObject({ resend: true });
    expect(stale.held).toBeUndefined();
    const unknown = await heartbeat({
      hostname: `kept-${n}`,
      unchanged: { facts: 'f'.repeat(64) },
      entries: [entry('aarch64')],
    });
    expect(unknown).toMatchObject({ resend: true });
    const after = await plane.db.host.findUniqueOrThrow({ where: { id: hostId } });
    expect(after.lastSeenAt).toEqual(before.lastSeenAt);
    expect(after.updatedAt).toEqual(before.updatedAt);
    expect(await snapshots(hostId)).toBe(views);

    // Sent in full, as the agent does next: taken.
    const full = await heartbeat({ hostname: `kept-${n}`, facts, entries: [entry('aarch64')] });
    expect(full.resend).toBeUndefined();
    expect(full.held).toEqual({ facts: first.held!.facts, entries: first.held!.entries });
    expect(await snapshots(hostId)).toBe(views + 1);
  });

  it('takes digests another replica answered: the kept row is read again and holds them, no resend', async () => {
    const { hostId, heartbeatToken } = await join();
    const heartbeat = callerOf(heartbeatToken);
    const facts = { agentVersion: '9.9.9', note: 'replicas' };
    await heartbeat({ hostname: `kept-${n}`, facts, entries: [entry('aarch64')] });
    // The agent's heartbeat lands on another replica, with new entries; its next one here names them.
    const replica = plane.addReplica();
    const there = await callerOf(
      heartbeatToken,
      replica.cp,
    )({
      hostname: `kept-${n}`,
      facts,
      entries: [entry('aarch64'), entry('mips64el')],
    });
    const views = await snapshots(hostId);
    const writes = vi.spyOn(plane.db, '$executeRaw');
    const reads = vi.spyOn(plane.db.host, 'findUnique');
    try {
      const here = await heartbeat({ hostname: `kept-${n}`, unchanged: there.held });
      expect(here.resend).toBeUndefined();
      expect(here.held).toEqual(there.held);
      // This replica's kept row had other entries: read again, then written.
      expect(reads).toHaveBeenCalled();
    } finally {
      writes.mockRestore();
      reads.mockRestore();
    }
    expect(await snapshots(hostId)).toBe(views);
  });

  it("holds no digest for entries it dropped as older than the host's (a job's since): the agent sends its next ones", async () => {
    const { hostId, heartbeatToken } = await join();
    const heartbeat = callerOf(heartbeatToken);
    const facts = { note: 'older' };
    await heartbeat({ hostname: `kept-${n}`, facts, entries: [entry('aarch64')] });
    // A job records the kernel as it is now; a heartbeat read a second before arrives after it.
    await plane.cp.hosts.snapshots.record(hostId, [entry('s390x')], new Date());
    const late = await heartbeat({
      hostname: `kept-${n}`,
      facts,
      entries: [entry('aarch64')],
      entriesAgeMs: 1_000,
    });
    expect(late.held?.facts).toEqual(expect.any(String));
    expect(late.held).not.toHaveProperty('entries');
    const row = await plane.db.host.findUniqueOrThrow({ where: { id: hostId } });
    expect(row.entries).toEqual([entry('s390x')]);
  });

  it('refuses a heartbeat with neither facts nor their digest, and one with both', async () => {
    const { heartbeatToken } = await join();
    const heartbeat = callerOf(heartbeatToken);
    await expect(heartbeat({ hostname: `kept-${n}`, entries: [] } as never)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(
      heartbeat({ hostname: `kept-${n}`, facts: {}, entries: [], unchanged: { facts: 'a'.repeat(64) } }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it("refuses a kept host's heartbeat once the host is removed, saying so", async () => {
    const { hostId, heartbeatToken } = await join();
    const beat = agentOf(heartbeatToken);
    await beat();
    await beat();
    await plane.admin.fleet.removeHost({ id: hostId });
    await expect(beat()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringMatching(/was removed from the fleet/),
    });
    expect(await plane.db.host.count({ where: { id: hostId } })).toBe(0);
  });

  it('decides nothing on a kept row: a removed host renaming itself is refused, nothing audited of the rename', async () => {
    const other = await join();
    const { hostId, heartbeatToken } = await join();
    let name = `kept-${n}`;
    const beat = agentOf(heartbeatToken, plane.cp, () => name);
    await beat();
    await plane.admin.fleet.removeHost({ id: hostId });
    // The name another host has: a rename decided on the kept row would audit a clash.
    const taken = (await plane.db.host.findUniqueOrThrow({ where: { id: other.hostId } })).hostname;
    name = taken;
    await expect(beat()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await plane.db.auditEvent.count({ where: { action: 'host.rename' } })).toBe(0);
  });

  it('refuses a kept credential the row no longer has, whatever else stayed', async () => {
    const { hostId, heartbeatToken } = await join();
    const beat = agentOf(heartbeatToken);
    await beat();
    // Only the credential changes (as a re-join gives a new one).
    await plane.db.host.update({ where: { id: hostId }, data: { heartbeatTokenHash: `replaced-${hostId}` } });
    await expect(beat()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringMatching(/Unknown agent credential/),
    });
  });
});
