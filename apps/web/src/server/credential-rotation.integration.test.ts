import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecretBox, loadOrCreateSecretKeyFile, type SecretBox } from '@binfleet/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './testing/fixture.ts';
import { startFleet, type Fleet, type FleetHost } from './testing/fleet.ts';
import { finishedJob, until } from './testing/waiting.ts';

// Rotating a host's credentials as one action, against a real agent process: the pair changes hands
// on the heartbeat, jobs never notice, and the old pair is refused on both sides afterwards, also
// after the agent restarts.
describe.each(DATABASES)('rotating a host credential on %s', (_name, database) => {
  let fleet: Fleet;
  let box: SecretBox;
  let host: FleetHost;
  /** The pair the host joined with, refused once the rotation took effect. */
  let joined: { agentToken: string; heartbeatToken: string };

  beforeAll(async () => {
    fleet = await startFleet({
      name: 'rotation',
      database,
      agents: 1,
      heartbeatIntervalMs: 1000,
      // Its agent is restarted on its port (samePort).
      stableAgentPorts: true,
      agent: { args: ['--heartbeat-interval', '1s'] },
    });
    box = createSecretBox(loadOrCreateSecretKeyFile(join(fleet.dataDir, 'secret.key')));
    host = fleet.hosts[0]!;
  }, 180_000);

  afterAll(() => fleet?.stop());

  /** The pair as each side keeps it: the control plane's sealed API token, the agent's heartbeat credential. */
  const credentials = async () => {
    const row = await fleet.db.host.findUniqueOrThrow({ where: { id: host.hostId } });
    const { link } = JSON.parse(readFileSync(join(host.stateDir, 'fleet-link.json'), 'utf8')) as {
      link: { heartbeatToken: string };
    };
    return {
      agentToken: box.open(row.agentTokenSealed, `host:${row.agentId}:agentToken`),
      heartbeatToken: link.heartbeatToken,
    };
  };
  const agentStatus = async (agentToken: string) =>
    (await fetch(`${host.agent.url}/trpc/status`, { headers: { authorization: `Bearer ${agentToken}` } }))
      .status;
  const heartbeat = async (heartbeatToken: string) => {
    const response = await fetch(`${fleet.url}/api/trpc/agentApi.heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${heartbeatToken}` },
      body: JSON.stringify({ json: { hostname: 'rotation-probe', facts: {}, entries: [] } }),
    });
    return { status: response.status, body: JSON.stringify(await response.json()) };
  };
  const runJob = async (params: { kind: string; targets: string[] }) => {
    const { id } = await fleet.api.ok(
      fleet.api.mutation<{ id: string }>('jobs.create', { params, selection: { hostIds: [host.hostId] } }),
    );
    return finishedJob<{ status: string; targets: { status: string; error: string | null }[] }>(
      fleet.api,
      id,
    );
  };
  const rotations = () => fleet.db.auditEvent.count({ where: { action: 'host.credential-rotated' } });
  const names = () => fleet.kernel(host.index).map((e) => e.name);

  it('rotate: jobs go on working, then the old pair is refused on heartbeats and by the agent', async () => {
    joined = await credentials();
    expect((await runJob({ kind: 'register', targets: ['aarch64'] })).status).toBe('succeeded');

    await fleet.api.ok(fleet.api.mutation('fleet.rotateCredential', { id: host.hostId }));
    await host.agent.waitForLog((l) => l.event === 'credential-rotated', 30_000);
    await until('the control plane switched to the new pair', async () => (await rotations()) === 1);
    const rotated = await credentials();
    expect(rotated.agentToken).not.toBe(joined.agentToken);
    expect(rotated.heartbeatToken).not.toBe(joined.heartbeatToken);

    // The job's call carries the new API token; the agent drops the old one on its first use.
    const job = await runJob({ kind: 'register', targets: ['riscv64'] });
    expect(job.targets).toEqual([expect.objectContaining({ status: 'succeeded' })]);
    expect(names()).toEqual(expect.arrayContaining(['qemu-aarch64', 'qemu-riscv64']));
    await host.agent.waitForLog((l) => l.event === 'previous-token-retired', 30_000);
    expect(await agentStatus(joined.agentToken)).toBe(401);
    expect(await agentStatus(rotated.agentToken)).toBe(200);

    const refused = await heartbeat(joined.heartbeatToken);
    expect(refused.status).toBe(401);
    expect(refused.body).toContain('was replaced');
    await heartbeat(joined.heartbeatToken);
    const denied = await fleet.db.auditEvent.findMany({
      where: { action: 'host.heartbeat', outcome: 'denied' },
    });
    expect(denied).toHaveLength(1);
    expect(denied[0]!.detail).toContain(`rotation ${fleet.admin.username} asked for`);
    const asked = await fleet.db.auditEvent.findMany({ where: { action: 'host.rotate-credential' } });
    expect(asked.map((e) => [e.actorName, e.outcome])).toEqual([[fleet.admin.username, 'success']]);

    const page = await fleet.api.ok(
      fleet.api.query<{ credential: { rotationAskedAt: string | null; rotatedAt: string | null } }>(
        'fleet.host',
        { id: host.hostId },
      ),
    );
    expect(page.credential.rotationAskedAt).toBeNull();
    expect(page.credential.rotatedAt).not.toBeNull();
  });

  it('an agent restarted after the rotation keeps the new pair: jobs and heartbeats work, the old token stays refused', async () => {
    const rotated = await credentials();
    const restarted = await fleet.restartAgent(host.index, { samePort: true });
    const before = (await fleet.db.host.findUniqueOrThrow({ where: { id: host.hostId } })).lastSeenAt!;
    await until('a heartbeat of the restarted agent', async () => {
      const row = await fleet.db.host.findUniqueOrThrow({ where: { id: host.hostId } });
      return row.lastSeenAt! > before;
    });
    expect(restarted.logs.filter((l) => l.event === 'heartbeat-failed')).toEqual([]);
    expect((await runJob({ kind: 'remove', targets: ['riscv64'] })).status).toBe('succeeded');
    expect(names()).not.toContain('qemu-riscv64');
    expect(await agentStatus(joined.agentToken)).toBe(401);
    expect(await agentStatus(rotated.agentToken)).toBe(200);
  });

  it('a second rotation waits for the first; an agent stopped at the rotation takes the new pair when it starts', async () => {
    const before = await credentials();
    await host.agent.stop();
    await fleet.api.ok(fleet.api.mutation('fleet.rotateCredential', { id: host.hostId }));
    const again = await fleet.api.mutation('fleet.rotateCredential', { id: host.hostId });
    expect(again.error?.code).toBe('CONFLICT');
    expect(again.error?.message).toContain('has not taken it into use yet');
    const waiting = await fleet.api.ok(
      fleet.api.query<{ credential: { rotationAskedAt: string | null; rotationAskedBy: string | null } }>(
        'fleet.host',
        { id: host.hostId },
      ),
    );
    expect(waiting.credential).toMatchObject({ rotationAskedBy: fleet.admin.username });
    expect(waiting.credential.rotationAskedAt).not.toBeNull();
    expect(
      await fleet.db.auditEvent.count({ where: { action: 'host.rotate-credential', outcome: 'failure' } }),
    ).toBe(1);

    await fleet.restartAgent(host.index, { samePort: true });
    await until('the restarted agent took the new pair into use', async () => (await rotations()) === 2);
    const after = await credentials();
    expect(after.heartbeatToken).not.toBe(before.heartbeatToken);
    expect((await runJob({ kind: 'remove', targets: ['aarch64'] })).status).toBe('succeeded');
    expect(await agentStatus(before.agentToken)).toBe(401);
    expect((await heartbeat(before.heartbeatToken)).status).toBe(401);
  });

  it('removing a host while a rotation waits revokes the new heartbeat credential too', async () => {
    await host.agent.stop();
    await fleet.api.ok(fleet.api.mutation('fleet.rotateCredential', { id: host.hostId }));
    const row = await fleet.db.host.findUniqueOrThrow({ where: { id: host.hostId } });
    const pending = JSON.parse(
      box.open(row.pendingCredentialSealed!, `host:${row.agentId}:pendingCredential`),
    ) as { heartbeatToken: string };
    await fleet.api.ok(fleet.api.mutation('fleet.removeHost', { id: host.hostId }));
    const refused = await heartbeat(pending.heartbeatToken);
    expect(refused.status).toBe(401);
    expect(refused.body).toContain('was removed from the fleet');
  });
});
