import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { encodeRegisterLine, targetRegisterSpec } from '@binfleet/arch-table';
import type { Db } from '@binfleet/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from './testing/api-client.ts';
import { startFleet, type Fleet } from './testing/fleet.ts';
import { finishedJob, until } from './testing/waiting.ts';

// The agent's guard rails as the control plane meets them: jobs through the API against a real agent
// in its own kernel binfmt_misc, and the policy form's lint context from what the host reports.
type JobView = { status: string; targets: { status: string; error: string | null }[] };

describe('guard rails through the control plane', () => {
  let fleet: Fleet;
  let admin: ApiClient;
  let db: Db;
  let hostId: string;
  const kernel = () => fleet.hosts[0]!.sandbox!.hostMountPoint;
  const snapshot = () =>
    Object.fromEntries(
      readdirSync(kernel())
        .filter((n) => n !== 'register')
        .map((n) => [n, readFileSync(`${kernel()}/${n}`, 'utf8')]),
    );
  const job = async (params: Record<string, unknown>) => {
    const { id } = await admin.ok(
      admin.mutation<{ id: string }>('jobs.create', { params, selection: { hostIds: [hostId] } }),
    );
    return { id, done: await finishedJob<JobView>(admin, id) };
  };

  beforeAll(async () => {
    fleet = await startFleet({
      name: 'guard',
      database: 'sqlite',
      agents: 1,
      heartbeatIntervalMs: 1000,
      env: { BINFLEET_JOB_MAX_ATTEMPTS: '1' },
      agent: { args: ['--heartbeat-interval', '1s', '--reconcile-interval', '1h'] },
    });
    ({ api: admin, db } = fleet);
    hostId = fleet.hosts[0]!.hostId;
  }, 180_000);
  afterAll(() => fleet?.stop());

  it("fails a job that would register the host's own architecture, with the agent's reason; the kernel is unchanged", async () => {
    const before = snapshot();
    const { done } = await job({ kind: 'register', targets: ['x86_64'] });
    expect(done.status).toBe('failed');
    expect(done.targets[0]!.error).toMatch(/qemu-x86_64 would take this host's own programs/);
    expect(snapshot()).toEqual(before);
    expect(await fleet.hosts[0]!.sandbox!.exec('/bin/sh', ['-c', 'true'])).toMatchObject({ code: 0 });
  });

  it('records forceNative in the audit line of a job that asks for it through the API', async () => {
    const { id, done } = await job({ kind: 'register', targets: ['x86_64'], forceNative: true });
    // From outside the sandbox at once: the entry stops the host's own programs in there.
    writeFileSync(`${kernel()}/qemu-x86_64`, '-1');
    expect(done.status).toBe('succeeded');
    const audit = await db.auditEvent.findFirstOrThrow({
      where: { action: 'job.register' },
      orderBy: { at: 'desc' },
    });
    expect(audit.params).toMatchObject({ jobId: id, forceNative: true, targets: ['x86_64'] });
    expect(audit.detail).toMatch(/FORCE NATIVE/);
    const row = await db.jobTarget.findFirstOrThrow({ where: { jobId: id } });
    expect(row.result).toMatchObject({
      detail: { warnings: [expect.stringMatching(/^--force-native: qemu-x86_64/)] },
    });
    expect(fleet.hosts[0]!.agent.logs).toContainEqual(
      expect.objectContaining({ event: 'audit', action: 'force-native', target: 'x86_64' }),
    );
    // Back to a state without it, so the agent's reconciler would not put it back.
    expect((await job({ kind: 'remove', all: true })).done.status).toBe('succeeded');
  });

  it("keeps the agent's C warning with the job row", async () => {
    const { id, done } = await job({ kind: 'register', targets: ['s390x'], credential: true });
    expect(done.status).toBe('succeeded');
    const row = await db.jobTarget.findFirstOrThrow({ where: { jobId: id } });
    expect(row.result).toMatchObject({
      detail: { warnings: [expect.stringMatching(/^C \(credential\) is set/)] },
    });
  });

  it("gives the policy form the fleet's machines and the foreign entries its hosts hold", async () => {
    writeFileSync(
      `${kernel()}/register`,
      encodeRegisterLine({
        ...targetRegisterSpec('aarch64', { interpreterDir: '/usr/bin' }),
        name: 'box-arm64',
        interpreter: '/usr/bin/true',
      }),
    );
    type LintContext = {
      machines: string[];
      foreignEntries: { entry: { name: string; interpreter: string }; hosts: number }[];
    };
    const context = await until('a heartbeat with the foreign entry', async () => {
      const c = await admin.ok(admin.query<LintContext>('policy.lintContext'));
      return c.foreignEntries.length > 0 && c;
    });
    expect(context.machines).toEqual(['x86_64']);
    expect(context.foreignEntries).toEqual([
      { entry: expect.objectContaining({ name: 'box-arm64', interpreter: '/usr/bin/true' }), hosts: 1 },
    ]);
  });
});
