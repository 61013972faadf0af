import { expectedEntry, targetRegisterSpec, type KernelEntry, type TargetId } from '@binfleet/arch-table';
import type { Prisma } from '@binfleet/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../testing/fixture.ts';
import {
  startInProcessControlPlane,
  type InProcessControlPlane,
} from '../testing/in-process-control-plane.ts';

// Dry runs through the procedure the dashboard calls (plans.preview), on SQLite and PostgreSQL, over
// hosts whose kernel entries are known: what a job or a policy draft would change on each host, the
// hosts it would make drifted, and the offline / in-policy split. A plan writes nothing.

/** An entry as a kernel shows it after registering `target` with these flags (the arch table's). */
const entry = (
  target: TargetId,
  flags: { persistent?: boolean; credential?: boolean } = { persistent: true },
) => expectedEntry(targetRegisterSpec(target, { interpreterDir: '/usr/bin', suffix: '-static', ...flags }));

const FLEET_POLICY = {
  groupName: null,
  targets: ['aarch64', 's390x'] as TargetId[],
  flags: 'F',
  interpreterDir: '/usr/bin',
  suffix: '-static',
  autoHeal: false,
};

describe.each(DATABASES)('plans on %s', (_name, database) => {
  let fixture: InProcessControlPlane;
  const ids: Record<string, string> = {};

  const host = async (
    hostname: string,
    entries: KernelEntry[],
    more: Partial<Prisma.HostCreateInput> = {},
  ) => {
    const row = await fixture.db.host.create({
      data: {
        agentId: `agent-${hostname}`,
        hostname,
        agentUrl: 'http://127.0.0.1:1',
        agentTokenSealed: 'not-a-sealed-token',
        heartbeatTokenHash: `hash-${hostname}`,
        arch: 'x86_64',
        entries: entries as unknown as Prisma.InputJsonValue,
        lastSeenAt: new Date(),
        ...more,
      },
    });
    ids[hostname] = row.id;
  };

  beforeAll(async () => {
    fixture = await startInProcessControlPlane({ name: 'plans', database });
    await fixture.admin.policy.set(FLEET_POLICY);
    await fixture.admin.policy.set({ ...FLEET_POLICY, groupName: 'ci', targets: ['aarch64'] });
    await host('h-in', [entry('aarch64'), entry('s390x')]);
    // s390x missing, riscv64 registered but not in the policy.
    await host('h-drift', [entry('aarch64'), entry('riscv64')]);
    await host('h-off', [entry('aarch64'), entry('s390x')], { lastSeenAt: null });
    await host('h-ci', [entry('aarch64')], { groupName: 'ci' });
  }, 60_000);

  afterAll(() => fixture?.stop());

  const preview = (input: Parameters<InProcessControlPlane['admin']['plans']['preview']>[0]) =>
    fixture.admin.plans.preview(input);
  const byHost = (plan: Awaited<ReturnType<typeof preview>>) =>
    Object.fromEntries(plan.hosts.map((h) => [h.hostname, h]));

  it('a reset per policy: the drifted host gains and loses entries, the others change nothing; offline and in-policy hosts are named', async () => {
    const plan = await preview({
      kind: 'action',
      params: { kind: 'reset-register', usePolicy: true },
      hostIds: [ids['h-in']!, ids['h-drift']!, ids['h-off']!],
    });
    expect(plan.summary).toBe('Reset and register per policy');
    expect(plan.totals).toMatchObject({
      hosts: 3,
      online: 2,
      offline: 1,
      inPolicy: 2,
      changing: 1,
      becomeDrifted: 0,
      backInPolicy: 1,
    });
    expect(plan.offlineIds).toEqual([ids['h-off']]);
    expect(new Set(plan.inPolicyIds)).toEqual(new Set([ids['h-in'], ids['h-off']]));
    const hosts = byHost(plan);
    expect(hosts['h-drift']).toMatchObject({
      added: ['qemu-s390x'],
      removed: ['qemu-riscv64'],
      changed: [],
      driftBefore: 2,
      driftAfter: 0,
    });
    expect(hosts['h-in']).toMatchObject({ added: [], removed: [], changed: [], driftAfter: 0 });
    expect(hosts['h-off']!.online).toBe(false);
    // Hosts that change come before those that do not.
    expect(plan.hosts[0]!.hostname).toBe('h-drift');
  });

  it('registering with C on a host in policy changes its entry in place and names it as becoming drifted', async () => {
    const plan = await preview({
      kind: 'action',
      params: {
        kind: 'register',
        targets: ['aarch64'],
        persistent: true,
        credential: true,
        preserveArgv0: false,
      },
      hostIds: [ids['h-in']!],
    });
    const [h] = plan.hosts;
    expect(h).toMatchObject({
      added: [],
      removed: [],
      changed: [{ name: 'qemu-aarch64', what: 'flags "F" -> "OCF"' }],
      becomesDrifted: true,
      driftBefore: 0,
      driftAfter: 1,
    });
    expect(h!.drift).toEqual([expect.objectContaining({ target: 'aarch64', kind: 'wrong-flags' })]);
    expect(plan.totals.becomeDrifted).toBe(1);
  });

  it('removing every entry, disabling, and verifying: what goes, what switches off, nothing', async () => {
    const removeAll = await preview({
      kind: 'action',
      params: { kind: 'remove', all: true },
      hostIds: [ids['h-ci']!],
    });
    expect(removeAll.hosts[0]).toMatchObject({ removed: ['qemu-aarch64'], becomesDrifted: true });
    const disable = await preview({
      kind: 'action',
      params: { kind: 'disable', targets: ['s390x', 'riscv64'] },
      hostIds: [ids['h-in']!],
    });
    expect(disable.hosts[0]!.changed).toEqual([{ name: 'qemu-s390x', what: 'enabled -> disabled' }]);
    const verify = await preview({ kind: 'action', params: { kind: 'verify' }, hostIds: [ids['h-drift']!] });
    expect(verify.totals.changing).toBe(0);
  });

  it("a fleet policy draft: the hosts it governs, those it would make drifted, and auto-heal's resets", async () => {
    const plan = await preview({
      kind: 'policy',
      draft: { ...FLEET_POLICY, targets: ['aarch64', 's390x', 'riscv64'], autoHeal: true },
    });
    // h-ci follows its group's policy: the fleet's draft does not touch it.
    expect(plan.hosts.map((h) => h.hostname).sort()).toEqual(['h-drift', 'h-in', 'h-off']);
    expect(plan.summary).toBe('Fleet policy draft');
    const hosts = byHost(plan);
    expect(hosts['h-in']).toMatchObject({ becomesDrifted: true, driftBefore: 0, driftAfter: 1 });
    expect(hosts['h-in']!.drift).toEqual([expect.objectContaining({ target: 'riscv64', kind: 'missing' })]);
    // Auto-heal would reset it to the draft: riscv64 is added.
    expect(hosts['h-in']!.added).toEqual(['qemu-riscv64']);
    expect(hosts['h-off']!.becomesDrifted).toBe(true);
    expect(hosts['h-drift']).toMatchObject({ becomesDrifted: false, driftAfter: 1 });
    expect(plan.totals).toMatchObject({ becomeDrifted: 2, autoHealOnline: 2, autoHealOffline: 1 });

    const group = await preview({
      kind: 'policy',
      draft: { ...FLEET_POLICY, groupName: 'ci', flags: 'OCF' },
    });
    expect(group.hosts.map((h) => h.hostname)).toEqual(['h-ci']);
    expect(group.hosts[0]).toMatchObject({ becomesDrifted: true, added: [], removed: [], changed: [] });
    expect(group.totals.autoHealOnline).toBe(0);
  });

  it('changes nothing, and refuses hosts that are gone', async () => {
    const before = await Promise.all([fixture.db.job.count(), fixture.db.policy.findMany()]);
    await preview({ kind: 'action', params: { kind: 'remove', all: true }, hostIds: Object.values(ids) });
    await preview({ kind: 'policy', draft: { ...FLEET_POLICY, autoHeal: true, targets: ['arm'] } });
    expect(await Promise.all([fixture.db.job.count(), fixture.db.policy.findMany()])).toEqual(before);
    await expect(
      preview({ kind: 'action', params: { kind: 'verify' }, hostIds: ['no-such-host'] }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
