import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { encodeRegisterLine, targetRegisterSpec, type TargetId } from '@binfleet/arch-table';
import type { Db } from '@binfleet/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from './testing/api-client.ts';
import { DATABASES } from './testing/fixture.ts';
import { startFleet, type Fleet } from './testing/fleet.ts';
import { finishedJob, until, watchUntilFinal } from './testing/waiting.ts';

// The control plane against real agents, each in its own kernel binfmt_misc sandbox, on SQLite and
// on PostgreSQL; the API runs as a real process so that it can be killed and restarted.
type JobView = {
  status: string;
  targets: { hostname: string; status: string; error: string | null; attempts: number }[];
};
type HostRow = { id: string; hostname: string; online: boolean };

describe.each(DATABASES)('control plane with real agents on %s', (_name, database) => {
  let fleet: Fleet;
  let admin: ApiClient;
  let db: Db;
  /** hosts[i] is the host of fleet.hosts[i] (every sandbox has the same hostname). */
  let hosts: HostRow[];

  const finished = (id: string) => finishedJob<JobView>(admin, id);
  const sandbox = (i: number) => fleet.hosts[i]!.sandbox!;
  const kernelEntry = (i: number, name: string) =>
    readFileSync(`${sandbox(i).hostMountPoint}/${name}`, 'utf8');

  beforeAll(async () => {
    fleet = await startFleet({
      name: 'cp',
      database,
      agents: 3,
      heartbeatIntervalMs: 1000,
      env: {
        BINFLEET_AGENT_CALL_TIMEOUT_MS: '4000',
        BINFLEET_RUNNER_LEASE_MS: '1000',
        BINFLEET_JOB_MAX_ATTEMPTS: '2',
        BINFLEET_AUTO_HEAL_PAUSE_MS: '1500',
      },
      agent: { args: ['--heartbeat-interval', '1s', '--reconcile-interval', '1h'] },
    });
    ({ api: admin, db } = fleet);
    const online = await admin.ok(admin.query<{ items: HostRow[] }>('fleet.hosts', {}));
    hosts = fleet.hosts.map((h) => online.items.find((row) => row.id === h.hostId)!);
  }, 180_000);

  afterAll(() => fleet?.stop());

  it('joined 3 agents once each, with their credentials stored hashed or sealed', async () => {
    const rows = await db.host.findMany();
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row.heartbeatTokenHash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.agentTokenSealed).toMatch(/^v1:/);
    }
    const token = await db.joinToken.findFirstOrThrow();
    expect(token.uses).toBe(3);
  });

  it('resets and registers 2 hosts through a job; the database then holds what their kernels hold', async () => {
    const [a, b, c] = hosts;
    const { id } = await admin.ok(
      admin.mutation<{ id: string }>('jobs.create', {
        params: { kind: 'reset-register', persistent: true },
        selection: { hostIds: [a!.id, b!.id] },
      }),
    );
    const done = await finished(id);
    expect(done.status).toBe('succeeded');
    expect(done.targets.map((t) => t.status)).toEqual(['succeeded', 'succeeded']);

    for (const host of [a!, b!]) {
      const view = await admin.ok(
        admin.query<{ entries: { name: string; flags: string; interpreter: string }[] }>('fleet.host', {
          id: host.id,
        }),
      );
      const aarch64 = view.entries.find((e) => e.name === 'qemu-aarch64');
      expect(aarch64).toMatchObject({ flags: 'F', interpreter: '/usr/bin/qemu-aarch64-static' });
      expect(view.entries).toHaveLength(31);
    }
    // The kernels themselves agree: the two sandboxes hold qemu-aarch64 with F, the third nothing.
    expect(kernelEntry(0, 'qemu-aarch64')).toMatch(/^flags: F$/m);
    expect(kernelEntry(1, 'qemu-aarch64')).toMatch(/^flags: F$/m);
    expect(readdirSync(sandbox(2).hostMountPoint).sort()).toEqual(['register', 'status']);
    const untouched = await admin.ok(admin.query<{ entries: unknown[] }>('fleet.host', { id: c!.id }));
    expect(untouched.entries).toEqual([]);
  });

  it("refuses a viewer's job request and records the refusal", async () => {
    await admin.ok(
      admin.mutation('auth.createUser', { username: 'vera', password: 'viewer-password-1', role: 'viewer' }),
    );
    const viewer = await ApiClient.signIn(fleet.url, 'vera', 'viewer-password-1');
    const hostsSeen = await viewer.ok(viewer.query<{ items: unknown[] }>('fleet.hosts', {}));
    expect(hostsSeen.items).toHaveLength(3);
    const refused = await viewer.mutation('jobs.create', {
      params: { kind: 'verify' },
      selection: { all: true },
    });
    expect(refused.status).toBe(403);
    expect(refused.error?.message).toMatch(/operator/);
    expect(await db.job.count({ where: { createdBy: { username: 'vera' } } })).toBe(0);
    expect(await db.auditEvent.count({ where: { actorName: 'vera', action: 'auth.denied' } })).toBe(1);
  });

  it('refuses a mutation without the CSRF header of the session', async () => {
    const forged = await admin.mutation(
      'jobs.create',
      { params: { kind: 'verify' }, selection: { all: true } },
      { csrf: 'forged' },
    );
    expect(forged.status).toBe(403);
  });

  it('reports each kind of drift from the policy, as read from a real kernel', async () => {
    await admin.ok(
      admin.mutation('policy.set', {
        groupName: null,
        targets: ['aarch64', 's390x', 'riscv64', 'ppc64le'],
        flags: 'F',
        interpreterDir: '/usr/bin',
        suffix: '-static',
        autoHeal: false,
      }),
    );
    // Behind the back of host 2's agent (its kernel is empty): one entry per kind of drift.
    const kernel = sandbox(2).hostMountPoint;
    const register = (target: TargetId, change: { flags?: string; interpreter?: string } = {}) =>
      writeFileSync(
        `${kernel}/register`,
        encodeRegisterLine({
          ...targetRegisterSpec(target, { interpreterDir: '/usr/bin', suffix: '-static', persistent: true }),
          ...change,
        }),
      );
    register('aarch64', { flags: 'PF' });
    register('s390x', { interpreter: '/usr/bin/qemu-aarch64-static' });
    register('riscv64');
    writeFileSync(`${kernel}/qemu-riscv64`, '0');
    register('mips');
    // ppc64le: missing.

    type Drift = { target: string; kind: string };
    const view = await until('a heartbeat with every change', async () => {
      const v = await admin.ok(
        admin.query<{ entries: { name: string; enabled: boolean }[]; drift: Drift[] }>('fleet.host', {
          id: hosts[2]!.id,
        }),
      );
      return v.entries.length === 4 && v.entries.some((e) => e.name === 'qemu-riscv64' && !e.enabled) && v;
    });
    expect(view.drift.map((d) => `${d.target} ${d.kind}`).sort()).toEqual([
      'aarch64 wrong-flags',
      'mips extra',
      'ppc64le missing',
      'riscv64 disabled',
      's390x wrong-interpreter',
    ]);
    expect(view.drift.find((d) => d.kind === 'wrong-flags')).toMatchObject({
      detail: 'flags is "PF", policy wants "F"',
    });
    const page = await admin.ok(
      admin.query<{ items: (HostRow & { drift: number; cells: Record<string, { state: string }> })[] }>(
        'fleet.hosts',
        {},
      ),
    );
    const row = page.items.find((h) => h.id === hosts[2]!.id)!;
    expect(row.drift).toBe(5);
    expect(row.cells).toEqual({
      aarch64: { state: 'drifted' },
      s390x: { state: 'drifted' },
      riscv64: { state: 'disabled' },
      ppc64le: { state: 'missing' },
      mips: { state: 'extra' },
    });

    writeFileSync(`${kernel}/status`, '-1');
    await admin.ok(admin.mutation('policy.remove', { groupName: null }));
  });

  // The control plane killed -9 mid-job and restarted, agents killed mid-job, PostgreSQL restarted
  // and the other faults: faults.integration.test.ts.

  it('heals drift per policy by itself, also after a reboot empties binfmt_misc, with live progress over SSE', async () => {
    await admin.ok(
      admin.mutation('policy.set', {
        groupName: null,
        targets: ['aarch64', 's390x'],
        flags: 'F',
        interpreterDir: '/usr/bin',
        suffix: '-static',
        autoHeal: true,
      }),
    );
    const healed = (i: number) => {
      const names = readdirSync(sandbox(i).hostMountPoint).filter((n) => n.startsWith('qemu-'));
      return (
        names.sort().join(',') === 'qemu-aarch64,qemu-s390x' &&
        /^flags: F$/m.test(kernelEntry(i, 'qemu-s390x'))
      );
    };
    await until('every host healed to the policy', async () => [0, 1, 2].every(healed), 60_000);

    // A reboot: the kernel forgets every entry.
    const rebootAt = new Date();
    writeFileSync(`${sandbox(0).hostMountPoint}/status`, '-1');
    const heal = await until('an auto-heal job finishing after the reboot', () =>
      db.job.findFirst({
        where: {
          createdById: null,
          targets: {
            some: { hostId: hosts[0]!.id, OR: [{ finishedAt: null }, { finishedAt: { gte: rebootAt } }] },
          },
        },
        orderBy: { createdAt: 'desc' },
      }),
    );
    const events = (await watchUntilFinal<{ status: string }>(admin, 'jobs.watch', { id: heal!.id })).map(
      (j) => j.status,
    );
    expect(events.at(-1)).toBe('succeeded');
    expect(events.length).toBeGreaterThanOrEqual(1);
    await until('host 0 healed again', async () => healed(0));
    expect(
      await db.auditEvent.count({ where: { actorName: 'auto-heal', action: 'job.reset-register' } }),
    ).toBeGreaterThan(0);
    await admin.ok(admin.mutation('policy.remove', { groupName: null }));
  }, 120_000);

  it('gives a failed row with the reason when the agent is killed, never a hanging one', async () => {
    const victim = hosts[2]!;
    await fleet.hosts[2]!.agent.stop('SIGKILL');
    const { id } = await admin.ok(
      admin.mutation<{ id: string }>('jobs.create', {
        params: { kind: 'verify' },
        selection: { hostIds: [victim.id] },
      }),
    );
    const done = await finished(id);
    expect(done.status).toBe('failed');
    expect(done.targets[0]!.error).toMatch(/unreachable.*binfleet-agent is running/);
    await until('the host, and only it, to show offline', async () => {
      const page = await admin.ok(
        admin.query<{ items: HostRow[] }>('fleet.hosts', { filter: { online: false } }),
      );
      return page.items.some((h) => h.id === victim.id);
    });
  }, 120_000);

  it('keeps an audit trail of what happened', async () => {
    const actions = (await db.auditEvent.findMany({ select: { action: true } })).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'auth.setup',
        'join-token.create',
        'host.join',
        'job.reset-register',
        'job.verify',
        'auth.denied',
      ]),
    );
  });
});
