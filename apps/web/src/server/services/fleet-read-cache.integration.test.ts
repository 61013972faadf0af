import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DATABASES, TEST_ADMIN } from '../testing/fixture.ts';
import {
  startInProcessControlPlane,
  type InProcessControlPlane,
} from '../testing/in-process-control-plane.ts';
import type { SelfTestCheck } from './hosts/self-tests.ts';

// The fleet page's read models are kept while the fleet does not change (FleetReadCache), on SQLite
// and PostgreSQL: a read with nothing changed is served what was kept, and every way a host row
// changes (Prisma's writes, the raw self-test writes, a write that commits with an older updatedAt
// than the newest, another replica's write, a policy change, time taking a host offline) shows on
// the very next read.

const FLEET_POLICY = {
  groupName: null,
  targets: ['aarch64' as const],
  flags: 'F',
  interpreterDir: '/usr/bin',
  suffix: '-static',
  autoHeal: false,
};

const passed = (target: string): SelfTestCheck => ({
  target,
  method: 'probe',
  status: 'passed',
  output: 'ok',
  durationMs: 5,
});

describe.each(DATABASES)('fleet read models kept on %s', (_name, database) => {
  let fixture: InProcessControlPlane;
  let n = 0;

  const newHost = async (data: { lastSeenAt?: Date | null; groupName?: string } = {}) => {
    n++;
    const host = await fixture.db.host.create({
      data: {
        agentId: `agent-read-cache-${n}`,
        hostname: `read-cache-${String(n).padStart(3, '0')}`,
        agentUrl: `http://127.0.0.1:${2000 + n}`,
        agentTokenSealed: 'not-a-sealed-token',
        heartbeatTokenHash: `hash-read-cache-${n}`,
        arch: 'x86_64',
        lastSeenAt: new Date(),
        ...data,
      },
    });
    return host.id;
  };
  const fleet = () => fixture.cp.fleet;
  const firstPage = () => fleet().page({}, { offset: 0, limit: 50 });
  const rowOf = async (id: string) => (await firstPage()).items.find((r) => r.id === id);

  beforeAll(async () => {
    fixture = await startInProcessControlPlane({ name: 'read-cache', database });
  }, 60_000);

  afterAll(() => fixture?.stop());

  it('serves what it kept while nothing changed, and each write on the next read', async () => {
    const a = await newHost();
    const b = await newHost();

    // Nothing changed: the same models, not computed again.
    const summary = await fleet().summary();
    expect(await fleet().summary()).toBe(summary);
    const page = await firstPage();
    expect(await firstPage()).toBe(page);
    expect(await fleet().drift()).toBe(await fleet().drift());
    expect(await fleet().coverage()).toBe(await fleet().coverage());

    // A host joins.
    const c = await newHost();
    expect((await fleet().summary()).total).toBe(summary.total + 1);
    expect(await rowOf(c)).toBeDefined();

    // A service's write (updateMany).
    await fixture.admin.fleet.setGroup({ hostIds: [a], group: 'blue' });
    expect((await rowOf(a))?.group).toBe('blue');
    expect((await fleet().summary()).groups).toEqual([{ name: 'blue', hosts: 1 }]);

    // A write straight to the row (a seed script, another tool).
    await fixture.db.host.update({ where: { id: b }, data: { reachable: false, reachError: 'refused' } });
    expect((await rowOf(b))?.reach).toMatchObject({ reachable: false, error: 'refused' });

    // A write that commits after a newer one, with the older updatedAt it was given (a transaction
    // that waited): the newest updatedAt of the fleet does not move, the fleet did.
    const newest = await fixture.db.host.update({ where: { id: a }, data: { kernel: '6.1.0' } });
    expect((await rowOf(a))?.kernel).toBe('6.1.0');
    await fixture.db.host.update({
      where: { id: b },
      data: { kernel: '5.10.0', updatedAt: new Date(newest.updatedAt.getTime() - 60_000) },
    });
    expect((await rowOf(b))?.kernel).toBe('5.10.0');

    // Self-tests, written with raw updates of the row: one failing, then a newer pass stored
    // without them and the outcome worked out again for every host.
    const failing = async () => (await rowOf(c))?.attention.some((r) => r.kind === 'self-test-failing');
    expect(await failing()).toBe(false);
    await fixture.cp.hosts.selfTests.record(c, null, [{ ...passed('aarch64'), status: 'failed' }]);
    expect(await failing()).toBe(true);
    // Stored without the row (as a bulk import would): the outcome column still says failed...
    await fixture.db.verifyResult.create({ data: { ...passed('aarch64'), hostId: c } });
    expect(await failing()).toBe(true);
    // ...until it is worked out again, a raw update of every row.
    await fixture.cp.hosts.selfTests.refreshAll();
    expect(await failing()).toBe(false);

    // A policy: drift is computed for every host from now on.
    const drift = await fleet().drift();
    expect(drift.withoutPolicy).toBeGreaterThan(0);
    await fixture.admin.policy.set(FLEET_POLICY);
    expect((await fleet().drift()).withoutPolicy).toBe(0);

    // Another replica's write, on the same database.
    const replica = fixture.addReplica();
    const onReplica = await fixture.callerFor(TEST_ADMIN, replica.cp);
    await onReplica.fleet.setGroup({ hostIds: [b], group: 'green' });
    expect((await rowOf(b))?.group).toBe('green');

    // A host removed.
    await fixture.admin.fleet.removeHost({ id: c });
    expect(await rowOf(c)).toBeUndefined();
    expect((await fleet().summary()).total).toBe(summary.total);
  });

  it("shares one look at the fleet among a request's calls under way at once, not with its later calls", async () => {
    await newHost();
    const stampReads = vi.spyOn(fixture.db, '$queryRaw');
    try {
      const reads = {};
      const stamps = () => stampReads.mock.calls.filter(([sql]) => String(sql).includes('"oldest"')).length;
      // A batch: its calls start together.
      await Promise.all([
        fleet().summary(reads),
        fleet().page({}, { offset: 0, limit: 50 }, reads),
        fleet().drift(reads),
        fleet().coverage(reads),
      ]);
      expect(stamps()).toBe(1);
      // The same caller again, after a write of its own: a look of its own, and the write shows.
      const id = await newHost();
      expect((await fleet().page({}, { offset: 0, limit: 50 }, reads)).items.some((r) => r.id === id)).toBe(
        true,
      );
      expect(stamps()).toBe(2);
    } finally {
      stampReads.mockRestore();
    }
  });

  it('takes a host offline when its window ends, with no write', async () => {
    const window = fixture.cp.hosts.onlineWindowMs;
    // Seen so long ago that it goes offline 1.2 s from now.
    const id = await newHost({ lastSeenAt: new Date(Date.now() - window + 1200) });
    const before = await fleet().summary();
    expect((await rowOf(id))?.online).toBe(true);
    await new Promise((r) => setTimeout(r, 1300));
    // Well within the time a model is kept at most (FLEET_READS_KEPT_MS): only the window ended.
    expect((await rowOf(id))?.online).toBe(false);
    expect((await fleet().summary()).online).toBe(before.online - 1);
  });
});
