import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import {
  kernelSnapshot,
  startAgent,
  startTestNetwork,
  type AgentProcess,
  type TestNetwork,
} from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from './testing/fleet.ts';
import { assertNoLostOrHangingRows } from './testing/job-assertions.ts';
import { finishedJob } from './testing/waiting.ts';

/**
 * Two replicas on one PostgreSQL database: the dial-out agent holds its channel to replica A, whose
 * job runner is off; replica B's runner creates the call. LISTEN/NOTIFY carries the wake from B to
 * A's channel, and the result (posted to A) back to B's waiting runner.
 */
describe('dial-out agents with two replicas (PostgreSQL)', () => {
  let network: TestNetwork | undefined;
  let fleet: Fleet | undefined;
  let agent: AgentProcess | undefined;
  afterAll(async () => {
    await agent?.stop('SIGKILL').catch(() => undefined);
    await fleet?.stop();
    await network?.stop();
  });

  beforeAll(async () => {
    network = await startTestNetwork();
    fleet = await startFleet({
      name: 'dial-out-replicas',
      database: 'postgresql',
      agents: 0,
      hostname: network.gateway,
      heartbeatIntervalMs: 1000,
      env: { BINFLEET_RUNNER: 'off', BINFLEET_CHANNEL_KEEPALIVE_MS: '500' },
    });
  }, 600_000);

  it('a call created on replica B reaches the host connected to replica A, and its result gets back', async () => {
    const net = await network!.addHost('edge-pg');
    net.dropInbound();
    const { token } = await fleet!.joinToken();
    agent = await startAgent(net.sandbox, {
      stateDir: mkdtempSync(join(fleet!.dir, 'edge-pg-')),
      args: ['--dial-out', '--server', fleet!.url, '--join-token', token, '--reconcile-interval', '1h'],
      startTimeoutMs: 120_000,
    });
    const hostId = String((await agent.waitForLog((l) => l.event === 'joined', 120_000)).hostId);
    await agent.waitForLog((l) => l.event === 'channel-open', 60_000);
    // Replica B, with a job runner; A's is off (the fleet's env), and A holds the channel.
    await fleet!.startReplica({ BINFLEET_RUNNER: 'on' });

    const { id } = await fleet!.api.ok(
      fleet!.api.mutation<{ id: string }>('jobs.create', {
        params: { kind: 'reset-register', persistent: true, targets: ['aarch64'] },
        selection: { hostIds: [hostId] },
      }),
    );
    const job = await finishedJob<{ status: string; targets: { status: string; error: string | null }[] }>(
      fleet!.api,
      id,
    );
    expect(job.targets.map((t) => [t.status, t.error])).toEqual([['succeeded', null]]);
    await assertNoLostOrHangingRows(fleet!.db, id, { hostIds: [hostId] });
    expect(Object.keys(kernelSnapshot(net.sandbox))).toContain('qemu-aarch64');
    // B's runner ran it (A's is off), over the channel A holds: one call, run once.
    expect(agent.logs.filter((l) => l.event === 'call' && l.procedure === 'applyState')).toHaveLength(1);
  }, 300_000);
});
