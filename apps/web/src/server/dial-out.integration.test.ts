import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import {
  kernelSnapshot,
  startAgent,
  startTestNetwork,
  type AgentProcess,
  type NetworkHost,
  type TestNetwork,
} from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from './testing/fleet.ts';
import { assertNoLostOrHangingRows } from './testing/job-assertions.ts';
import { finishedJob, until } from './testing/waiting.ts';

/**
 * Dial-out agents on a network of their own: each host a network namespace of the test's, whose
 * firewall drops every inbound connection; its agent listens on nothing and holds one channel to the
 * control plane on the test network's gateway. Jobs go through the same gateway as for direct hosts.
 */
type Job = { status: string; targets: { hostId: string; status: string; error: string | null }[] };

interface DialOutHost {
  readonly net: NetworkHost;
  readonly hostId: string;
  readonly stateDir: string;
  agent: AgentProcess;
}

describe.each([
  ['standalone', 'sqlite'],
  ['next', 'sqlite'],
  ['standalone', 'postgresql'],
] as const)('dial-out agents (%s server, %s)', (server, database) => {
  let network: TestNetwork | undefined;
  let fleet: Fleet | undefined;
  const agents: AgentProcess[] = [];
  afterAll(async () => {
    if (process.env.BINFLEET_TEST_DEBUG) console.log(fleet?.server.output().slice(-5000));
    await Promise.all(agents.map((a) => a.stop('SIGKILL').catch(() => undefined)));
    await fleet?.stop();
    await network?.stop();
  });

  beforeAll(async () => {
    network = await startTestNetwork();
    fleet = await startFleet({
      name: `dial-out-${server}`,
      database,
      agents: 0,
      server,
      hostname: network.gateway,
      heartbeatIntervalMs: 1000,
      env: {
        BINFLEET_CHANNEL_KEEPALIVE_MS: '500',
        BINFLEET_HEALTH_INTERVAL_MS: '1000',
        // A dead runner's rows are taken over after max(lease, 2 calls + 5 s): 15 s, not the default's 65.
        BINFLEET_RUNNER_LEASE_MS: '5000',
        BINFLEET_AGENT_CALL_TIMEOUT_MS: '5000',
      },
    });
  }, 600_000);

  const launch = async (net: NetworkHost, stateDir: string, join: string[] = []) => {
    const agent = await startAgent(net.sandbox, {
      stateDir,
      args: [
        '--dial-out',
        '--server',
        fleet!.url,
        ...join,
        '--reconcile-interval',
        '1h',
        '--heartbeat-interval',
        '1s',
      ],
      startTimeoutMs: 120_000,
    });
    agents.push(agent);
    return agent;
  };

  /** A host whose firewall drops inbound connections, its agent dialing out, joined and with a channel open. */
  const addHost = async (hostname: string): Promise<DialOutHost> => {
    const net = await network!.addHost(hostname);
    net.dropInbound();
    const stateDir = mkdtempSync(join(fleet!.dir, `${hostname}-`));
    const { token } = await fleet!.joinToken();
    const agent = await launch(net, stateDir, ['--join-token', token]);
    const joined = await agent.waitForLog((l) => l.event === 'joined', 120_000);
    await agent.waitForLog((l) => l.event === 'channel-open', 60_000);
    return { net, hostId: String(joined.hostId), stateDir, agent };
  };

  const heartbeatToken = (host: DialOutHost) =>
    (
      JSON.parse(readFileSync(join(host.stateDir, 'fleet-link.json'), 'utf8')) as {
        link: { heartbeatToken: string };
      }
    ).link.heartbeatToken;

  const runJob = async (params: Record<string, unknown>, hostIds: string[]) => {
    const { id } = await fleet!.api.ok(
      fleet!.api.mutation<{ id: string }>('jobs.create', { params, selection: { hostIds } }),
    );
    return id;
  };

  let edge: DialOutHost;

  it('joins with no listening socket, is reachable by its channel, and runs a reset and a verify job', async () => {
    edge = await addHost('edge-1');
    expect(edge.net.listeningSockets()).toEqual([]);
    const row = await fleet!.db.host.findUniqueOrThrow({ where: { id: edge.hostId } });
    expect(row).toMatchObject({ transport: 'dial-out', agentUrl: '' });
    await until('edge-1 reachable by its channel', async () => {
      const host = await fleet!.db.host.findUnique({ where: { id: edge.hostId } });
      return host?.reachable === true;
    });

    const reset = await runJob({ kind: 'reset-register', persistent: true, targets: ['aarch64'] }, [
      edge.hostId,
    ]);
    const job = await finishedJob<Job>(fleet!.api, reset);
    expect(job.targets.map((t) => [t.status, t.error])).toEqual([['succeeded', null]]);
    expect(Object.keys(kernelSnapshot(edge.net.sandbox))).toContain('qemu-aarch64');
    await assertNoLostOrHangingRows(fleet!.db, reset, { hostIds: [edge.hostId] });

    const verify = await runJob({ kind: 'verify', targets: ['aarch64'] }, [edge.hostId]);
    const verified = await finishedJob<Job>(fleet!.api, verify);
    // The agent ran it and answered (its checks' verdict is the row's status, not a transport error).
    expect(verified.targets[0]!.error ?? '').not.toMatch(/unreachable|did not answer|channel/);
    const calls = await fleet!.db.agentCall.findMany({ where: { hostId: edge.hostId } });
    expect(calls.map((c) => c.status).every((s) => s === 'done' || s === 'failed')).toBe(true);
    expect(calls.map((c) => c.procedure)).toEqual(expect.arrayContaining(['applyState', 'verify']));
    // Still nothing listening: the control plane never connected to the host.
    expect(edge.net.listeningSockets()).toEqual([]);
  }, 300_000);

  /** Waits until the agent gave up its channel (silent for 3 keepalives) after the link was cut. */
  const channelLost = (host: DialOutHost, before: number) =>
    until(
      'the agent to give up its silent channel',
      async () => host.agent.logs.filter((l) => l.event === 'channel-lost').length > before,
    );
  const lostSoFar = (host: DialOutHost) => host.agent.logs.filter((l) => l.event === 'channel-lost').length;

  it('a call sent while the link is cut is delivered again after the reconnect, and its row ends once', async () => {
    const lost = lostSoFar(edge);
    edge.net.cutLink();
    let id: string;
    try {
      id = await runJob({ kind: 'remove', all: true }, [edge.hostId]);
      // Sent into the dead connection: delivered (attempt 1), unanswered.
      await until('the call sent on the cut channel', async () => {
        const call = await fleet!.db.agentCall.findFirst({
          where: { hostId: edge.hostId, procedure: 'remove' },
          orderBy: { createdAt: 'desc' },
        });
        return call?.status === 'delivered' && call;
      });
      // Kept cut until the connection is dead for the agent: the call must come on a new channel.
      await channelLost(edge, lost);
    } finally {
      edge.net.restoreLink();
    }
    const job = await finishedJob<Job>(fleet!.api, id);
    expect(job.targets.map((t) => [t.status, t.error])).toEqual([['succeeded', null]]);
    await assertNoLostOrHangingRows(fleet!.db, id, { hostIds: [edge.hostId] });
    const calls = await fleet!.db.agentCall.findMany({ where: { hostId: edge.hostId, procedure: 'remove' } });
    const done = calls.filter((c) => c.status === 'done');
    expect(done).toHaveLength(1);
    expect(done[0]!.attempt).toBeGreaterThan(1);
    expect(Object.keys(kernelSnapshot(edge.net.sandbox))).not.toContain('qemu-aarch64');
    // The agent ran the removal once per call row it got.
    const ran = edge.agent.logs.filter((l) => l.event === 'call' && l.procedure === 'remove');
    expect(new Set(ran.map((l) => l.callId)).size).toBe(ran.length);
  }, 300_000);

  it('a control plane restarted mid-job: the job finishes after the agent reconnects', async () => {
    edge.net.cutLink();
    let id: string;
    try {
      id = await runJob({ kind: 'reset-register', persistent: true, targets: ['aarch64'] }, [edge.hostId]);
      await until('the call sent on the cut channel', async () => {
        const call = await fleet!.db.agentCall.findFirst({
          where: { hostId: edge.hostId, procedure: 'applyState', status: 'delivered' },
        });
        return call;
      });
      await fleet!.restartServer();
    } finally {
      edge.net.restoreLink();
    }
    const job = await finishedJob<Job>(fleet!.api, id, 120_000);
    expect(job.targets.map((t) => t.status)).toEqual(['succeeded']);
    await assertNoLostOrHangingRows(fleet!.db, id, { hostIds: [edge.hostId] });
    expect(Object.keys(kernelSnapshot(edge.net.sandbox))).toContain('qemu-aarch64');
  }, 300_000);

  it("refuses a result for another host's call, a malformed one and a duplicate, audited, nothing changed", async () => {
    const other = await addHost('edge-2');
    other.net.cutLink();
    let id: string;
    try {
      id = await runJob({ kind: 'verify', targets: ['aarch64'] }, [other.hostId]);
      const call = await until('the call of edge-2', () =>
        fleet!.db.agentCall.findFirst({ where: { hostId: other.hostId, status: 'delivered' } }),
      );
      const post = (token: string, body: unknown) =>
        fetch(`${fleet!.url}/api/trpc/agentApi.callResult`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ json: body }),
        }).then(async (r) => (await r.json()) as { result?: { data?: { json?: { accepted: boolean } } } });
      const forged = {
        callId: call.id,
        attempt: call.attempt,
        outcome: { ok: true, output: { forged: true } },
      };
      expect((await post(heartbeatToken(edge), forged)).result?.data?.json).toEqual({ accepted: false });
      const malformed = { callId: call.id, attempt: call.attempt, outcome: { ok: 'yes' } };
      expect((await post(heartbeatToken(other), malformed)).result?.data?.json).toEqual({ accepted: false });
      const oversized = { ...forged, outcome: { ok: true, output: 'x'.repeat(600_000) } };
      const tooLarge = await post(heartbeatToken(other), oversized);
      expect(tooLarge.result?.data?.json?.accepted ?? false).toBe(false);
      const unchanged = await fleet!.db.agentCall.findUniqueOrThrow({ where: { id: call.id } });
      expect(unchanged).toMatchObject({ status: 'delivered', attempt: call.attempt, outcome: null });
      const audited = await fleet!.db.auditEvent.findMany({
        where: { action: 'agent.call-result', outcome: 'denied' },
      });
      expect(audited.map((a) => a.detail)).toEqual(
        expect.arrayContaining([
          expect.stringContaining("another host's call"),
          expect.stringContaining('malformed'),
        ]),
      );
    } finally {
      other.net.restoreLink();
    }
    const job = await finishedJob<Job>(fleet!.api, id, 120_000);
    expect(job.targets[0]!.error ?? '').not.toMatch(/unreachable|did not answer/);
    const done = await fleet!.db.agentCall.findMany({
      where: { hostId: other.hostId, status: { in: ['done', 'failed'] } },
    });
    // A late duplicate for an answered call is refused too.
    const late = done[0]!;
    const again = await fetch(`${fleet!.url}/api/trpc/agentApi.callResult`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${heartbeatToken(other)}` },
      body: JSON.stringify({
        json: { callId: late.id, attempt: late.attempt, outcome: { ok: true, output: 1 } },
      }),
    }).then((r) => r.json() as Promise<{ result?: { data?: { json?: unknown } } }>);
    expect(again.result?.data?.json).toEqual({ accepted: false });
    expect((await fleet!.db.agentCall.findUniqueOrThrow({ where: { id: late.id } })).outcome).toBe(
      late.outcome,
    );
  }, 300_000);

  it('refuses channels without a credential before any database work, and keeps at most 2 per host', async () => {
    const channel = (token?: string, signal?: AbortSignal) =>
      fetch(`${fleet!.url}/api/agent/channel`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        ...(signal ? { signal } : {}),
      });
    expect((await channel()).status).toBe(401);
    expect((await channel('not-a-token')).status).toBe(401);
    expect((await channel(`bfa_${'x'.repeat(43)}`)).status).toBe(401);

    const abort = new AbortController();
    try {
      const token = heartbeatToken(edge);
      const opened = [await channel(token, abort.signal), await channel(token, abort.signal)];
      expect(opened.map((r) => r.status)).toEqual([200, 200]);
      await until('the oldest channel replaced, audited', () =>
        fleet!.db.auditEvent.findFirst({ where: { action: 'agent.channel-replaced' } }),
      );
      expect(await fleet!.db.agentChannel.count({ where: { hostId: edge.hostId } })).toBeLessThanOrEqual(2);
    } finally {
      abort.abort();
    }
    // The test's channels gone, their rows go with them: the agent's own is the one left.
    await until(
      'only the agent channel left',
      async () => (await fleet!.db.agentChannel.count({ where: { hostId: edge.hostId } })) === 1,
    );
    // The agent comes back on its own once the test's channels are gone, and takes jobs again.
    const id = await runJob({ kind: 'verify', targets: ['aarch64'] }, [edge.hostId]);
    const job = await finishedJob<Job>(fleet!.api, id, 120_000);
    expect(job.targets[0]!.error ?? '').not.toMatch(/unreachable|did not answer/);
  }, 300_000);
});
