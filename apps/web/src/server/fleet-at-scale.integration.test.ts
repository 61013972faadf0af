import { TARGET_IDS } from '@binfleet/arch-table';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startInProcessControlPlane,
  type Caller,
  type InProcessControlPlane,
} from './testing/in-process-control-plane.ts';
import { seedFleet } from './testing/seed-fleet.ts';

// The fleet page's reads at more hosts than SQLite takes bind parameters in one query (999 through
// Prisma's driver adapter, which splits a lone `in` list but not one beside another condition, an
// orderBy or a groupBy): the summary's "needs attention" count, and the attention and drift filters
// alone and combined. PostgreSQL takes 65,535 parameters; the same code runs there in
// fleet-filter.integration.test.ts.
const HOSTS = 1_100;

describe('a fleet of 1,100 hosts on SQLite', () => {
  let fixture: InProcessControlPlane;
  let admin: Caller;

  beforeAll(async () => {
    fixture = await startInProcessControlPlane({ name: 'fleet-at-scale', database: 'sqlite' });
    admin = fixture.admin;
    await seedFleet(HOSTS, { DATABASE_URL: fixture.databaseUrl, BINFLEET_DATA_DIR: fixture.dataDir });
  }, 120_000);

  afterAll(() => fixture?.stop());

  const ids = (filter: Record<string, unknown>) => admin.fleet.hostIds({ filter });

  it('the summary counts the hosts that need attention, as the filter lists them', async () => {
    const summary = await admin.fleet.summary();
    expect(summary.total).toBe(HOSTS);
    const attention = await ids({ attention: true });
    // The seed makes hosts of both kinds, or the count would prove nothing.
    expect(attention.length).toBeGreaterThan(10);
    expect(attention.length).toBeLessThan(HOSTS);
    expect(summary.attention).toBe(attention.length);
    expect((await ids({ attention: false })).length).toBe(HOSTS - attention.length);
  });

  it('two hosts sharing an agent URL are both flagged among all the others', async () => {
    const calm = await ids({ attention: false });
    const [a, b] = calm.slice(0, 2);
    const { agentUrl } = await fixture.db.host.findUniqueOrThrow({ where: { id: a! } });
    await fixture.db.host.update({ where: { id: b! }, data: { agentUrl } });
    const page = await admin.fleet.hosts({ filter: { attention: true }, offset: 0, limit: 200 });
    const flagged = new Set((await ids({ attention: true })).filter((id) => id === a || id === b));
    expect(flagged).toEqual(new Set([a, b]));
    expect(page.total).toBe((await admin.fleet.summary()).attention);
  });

  it('"drifted only" and "needs attention" together are the hosts both filters list, in hostname order', async () => {
    // Every policy asks for every target: nearly every host lacks some, so more than 999 drift.
    for (const policy of await admin.policy.list())
      await admin.policy.set({
        groupName: policy.groupName,
        targets: [...TARGET_IDS],
        flags: policy.flags,
        interpreterDir: policy.interpreterDir,
        suffix: policy.suffix,
        autoHeal: false,
      });
    const drifted = new Set(await ids({ drifted: true }));
    const attention = await ids({ attention: true });
    expect(drifted.size).toBeGreaterThan(999);
    const both = await ids({ drifted: true, attention: true });
    expect(both).toEqual(attention.filter((id) => drifted.has(id)));
    expect(both.length).toBeGreaterThan(0);
    const page = await admin.fleet.hosts({
      filter: { drifted: true, attention: true },
      offset: 0,
      limit: 200,
    });
    expect(page.total).toBe(both.length);
    const names = page.items.map((h) => h.hostname);
    expect(names).toEqual([...names].sort());
  });
  it("a job's dry run over every host plans each of them", async () => {
    const all = await ids({});
    const plan = await admin.plans.preview({
      kind: 'action',
      params: { kind: 'verify' },
      hostIds: all,
    });
    expect(plan.totals.hosts).toBe(HOSTS);
    expect(plan.totals.changing).toBe(0);
  });
});
