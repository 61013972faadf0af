import type { KernelEntry } from '@binfleet/arch-table';
import type { Db } from '@binfleet/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellsOf } from './services/fleet-view.ts';
import { computeDrift, wantedTargets } from './services/policy.ts';
import { DATABASES } from './testing/fixture.ts';
import { selfTestOutcomes } from './testing/self-test-outcomes.ts';
import { seedFleet } from './testing/seed-fleet.ts';
import {
  startInProcessControlPlane,
  type Caller,
  type InProcessControlPlane,
} from './testing/in-process-control-plane.ts';

// The fleet page's "drifted only" filter on a fleet made by scripts/seed-fleet.ts (hosts with
// missing, disabled, old-flag, other-interpreter and extra entries against group policies), on SQLite
// and on PostgreSQL, through the tRPC procedures the page calls.
const HOSTS = 120;

type Row = { id: string; hostname: string; group: string | null; drift: number | null };

describe.each(DATABASES)('fleet filters on %s', (_name, database) => {
  let fixture: InProcessControlPlane;
  let db: Db;
  let admin: Caller;

  /** Every row the filter matches, read page by page as the fleet page does. */
  const allPages = async (filter: Record<string, unknown>, limit: number) => {
    const rows: Row[] = [];
    let total = 0;
    do {
      const page = await admin.fleet.hosts({ filter, offset: rows.length, limit });
      total = page.total;
      rows.push(...page.items);
      if (page.items.length === 0) break;
    } while (rows.length < total);
    return { total, rows };
  };

  beforeAll(async () => {
    fixture = await startInProcessControlPlane({ name: 'fleet-filter', database });
    ({ db, admin } = fixture);
    await seedFleet(HOSTS, { DATABASE_URL: fixture.databaseUrl, BINFLEET_DATA_DIR: fixture.dataDir });
  }, 120_000);

  afterAll(() => fixture?.stop());

  it('"drifted only" pages through exactly the hosts that differ from their policy', async () => {
    const everyone = await admin.fleet.hosts({ filter: {}, offset: 0, limit: 200 });
    expect(everyone.total).toBe(HOSTS);
    const drifted = everyone.items.filter((h) => (h.drift ?? 0) > 0);
    const inPolicy = everyone.items.filter((h) => h.drift === 0);
    // The seed makes both kinds, or the filter would prove nothing.
    expect(drifted.length).toBeGreaterThan(5);
    expect(inPolicy.length).toBeGreaterThan(5);
    expect((await admin.fleet.drift()).drifted).toBe(drifted.length);

    // Pages of 7 concatenate to the drifted hosts, in hostname order, each once.
    const pages = await allPages({ drifted: true }, 7);
    expect(pages.total).toBe(drifted.length);
    expect(pages.rows.map((h) => h.hostname)).toEqual(drifted.map((h) => h.hostname));
    expect(pages.rows.every((h) => (h.drift ?? 0) > 0)).toBe(true);

    // false is the other half.
    const matching = await allPages({ drifted: false }, 50);
    expect(matching.rows.map((h) => h.hostname)).toEqual(inPolicy.map((h) => h.hostname));
  });

  it('combines with the other filters and with "select all matching hosts"', async () => {
    const everyone = (await admin.fleet.hosts({ filter: {}, offset: 0, limit: 200 })).items;
    const group = everyone.find((h) => h.group && (h.drift ?? 0) > 0)!.group!;
    const expected = everyone.filter((h) => h.group === group && (h.drift ?? 0) > 0);
    const page = await admin.fleet.hosts({ filter: { group, drifted: true }, offset: 0, limit: 200 });
    expect(page.items.map((h) => h.hostname)).toEqual(expected.map((h) => h.hostname));
    expect(page.total).toBe(expected.length);

    const ids = await admin.fleet.hostIds({ filter: { group, drifted: true } });
    expect(new Set(ids)).toEqual(new Set(expected.map((h) => h.id)));
  });

  it('gives each row the drift and cells of its own entries, architecture and policy, and its own self-tests', async () => {
    // Rows take them from what is kept per set of entries (EntriesDigests): the same answer as working
    // them out from the row's own entries, which is what this does.
    const { items } = await admin.fleet.hosts({ filter: {}, offset: 0, limit: 200 });
    expect(items).toHaveLength(HOSTS);
    const policyOf = await fixture.cp.policies.resolver();
    const hosts = new Map(
      (await db.host.findMany({ select: { id: true, groupName: true, arch: true, entries: true } })).map(
        (h) => [h.id, h],
      ),
    );
    const results = await db.verifyResult.findMany({
      where: { status: { in: ['passed', 'failed'] } },
      orderBy: { at: 'desc' },
    });
    let withSelfTests = 0;
    for (const row of items) {
      const host = hosts.get(row.id)!;
      const entries = (host.entries as KernelEntry[] | null) ?? [];
      const policy = policyOf(host.groupName);
      const drift = policy ? computeDrift(policy, host.arch, entries) : [];
      expect(row.drift, row.hostname).toBe(policy ? drift.length : null);
      const latest = (target: string) =>
        results.find((r) => r.hostId === row.id && r.target === target)?.status;
      const expected = Object.fromEntries(
        Object.entries(cellsOf(policy ? wantedTargets(policy, host.arch) : [], entries, drift)).map(
          ([target, cell]) => [target, latest(target) ? { ...cell, verify: latest(target) } : cell],
        ),
      );
      expect(row.cells, row.hostname).toEqual(expected);
      if (Object.values(row.cells).some((c) => c?.verify)) withSelfTests++;
    }
    // The seeded fleet has self-test results on some hosts: the overlay was looked at.
    expect(withSelfTests).toBeGreaterThan(0);
  });

  it('"needs attention" over the whole fleet agrees with each row\'s reasons and with the self-test results', async () => {
    // The fleet-wide count reads every host's columns in one plain query; a page of rows reads them
    // through Prisma's client. Both must flag the same hosts, self-test reasons included.
    const { items } = await admin.fleet.hosts({ filter: {}, offset: 0, limit: 200 });
    const flagged = new Set(await admin.fleet.hostIds({ filter: { attention: true } }));
    expect(new Set(items.filter((r) => r.attention.length > 0).map((r) => r.id))).toEqual(flagged);
    expect((await admin.fleet.summary()).attention).toBe(flagged.size);
    // The outcome kept on each host (Host.selfTest) is that of its newest result per target and method.
    const outcomes = selfTestOutcomes(await db.verifyResult.findMany());
    const failing = new Set([...outcomes].filter(([, o]) => o === 'failed').map(([hostId]) => hostId));
    for (const row of items)
      expect(
        row.attention.some((a) => a.kind === 'self-test-failing'),
        row.hostname,
      ).toBe(failing.has(row.id));
    // The seed's self-tests make both kinds of host, or this would prove little.
    const kinds = new Set(items.flatMap((r) => r.attention.map((a) => a.kind)));
    expect(kinds).toContain('self-test-failing');
    expect(items.some((r) => r.attention.length === 0)).toBe(true);
  });

  it('a host whose kernel is brought back to its policy leaves the list', async () => {
    const everyone = (await admin.fleet.hosts({ filter: {}, offset: 0, limit: 200 })).items;
    const rows = await db.host.findMany({
      select: { id: true, groupName: true, arch: true, entries: true, entriesHash: true },
    });
    const byId = new Map(rows.map((r) => [r.id, r]));
    // A drifted host, and one in policy with the same group and host architecture: copying the
    // second's entries to the first is what a reset to the policy would leave in its kernel.
    const [victim, model] = everyone
      .filter((h) => (h.drift ?? 0) > 0)
      .flatMap((h) => {
        const healthy = everyone.find(
          (o) => o.drift === 0 && o.group === h.group && byId.get(o.id)!.arch === byId.get(h.id)!.arch,
        );
        return healthy ? [[h, healthy] as const] : [];
      })[0]!;
    const before = await admin.fleet.hosts({ filter: { drifted: true }, offset: 0, limit: 200 });
    expect(before.items.map((h) => h.id)).toContain(victim.id);

    // Entries and their hash are written together (as HostSnapshots.record does).
    const { entries, entriesHash } = byId.get(model.id)!;
    await db.host.update({ where: { id: victim.id }, data: { entries: entries!, entriesHash } });
    const after = await admin.fleet.hosts({ filter: { drifted: true }, offset: 0, limit: 200 });
    expect(after.total).toBe(before.total - 1);
    expect(after.items.map((h) => h.id)).not.toContain(victim.id);
  });

  it('jobs refuse a drift filter rather than run on every host the rest of the filter matches', async () => {
    const jobs = await db.job.count();
    await expect(
      admin.jobs.create({
        params: { kind: 'verify' },
        selection: { filter: { drifted: true } } as never,
      }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(await db.job.count()).toBe(jobs);
  });
});
