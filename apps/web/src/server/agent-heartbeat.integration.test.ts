import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTRACT_VERSION } from '@binfleet/agent-contract';
import type { Db } from '@binfleet/db';
import type { AgentProcess, Sandbox } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { ApiClient } from './testing/api-client.ts';
import { DATABASES } from './testing/fixture.ts';
import { startFleet, type Fleet } from './testing/fleet.ts';
import { finishedJob, until } from './testing/waiting.ts';

// What heartbeats carry besides facts and entries: where the agent is now, its reconciler's last
// error, and its versions (agents one contract version behind are served). One real agent in its own binfmt_misc sandbox, restarted with the same state directory (so
// without a new join), against the control plane as a process of its own, on SQLite and PostgreSQL.
type HostView = {
  agentUrl: string;
  refusedAgentUrl: string | null;
  reconcileError: { message: string; at: Date | null } | null;
  lastSeenAt: Date | null;
};

describe.each(DATABASES)('agent heartbeats on %s', (_name, database) => {
  let fleet: Fleet;
  let db: Db;
  let admin: ApiClient;
  let server: Fleet['server'];
  let stateDir: string;
  let sandbox: Sandbox;
  let agent: AgentProcess;
  let hostId: string;

  const host = () => admin.ok(admin.query<HostView>('fleet.host', { id: hostId }));
  /** The same agent again: same state dir (its link to the server), a new free port. */
  const restart = async (args: readonly string[] = [], reconcileInterval = '1h') => {
    agent = await fleet.restartAgent(0, { args: ['--reconcile-interval', reconcileInterval, ...args] });
    return agent;
  };
  const urlEvents = () =>
    db.auditEvent.findMany({ where: { action: 'host.agent-url' }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });

  beforeAll(async () => {
    fleet = await startFleet({
      name: 'heartbeat',
      database,
      agents: 1,
      heartbeatIntervalMs: 1000,
      // Agents here listen on loopback; a host name is refused, as it is never resolved.
      env: { BINFLEET_AGENT_URL_ALLOW: '127.0.0.0/8' },
      agent: { args: ['--heartbeat-interval', '1s', '--reconcile-interval', '1h'] },
    });
    ({ db, api: admin, server } = fleet);
    ({ stateDir, agent, hostId } = fleet.hosts[0]!);
    sandbox = fleet.hosts[0]!.sandbox!;
  }, 120_000);

  afterAll(() => fleet?.stop());

  it('follows an agent restarted on another port, without a re-join, and sends jobs there', async () => {
    const joinedAt = agent.url;
    expect((await host()).agentUrl).toBe(joinedAt);
    const moved = await restart();
    expect(moved.url).not.toBe(joinedAt);
    await until('the host to follow the new port', async () => (await host()).agentUrl === moved.url, 15_000);
    expect(moved.logs.some((l) => l.event === 'joined')).toBe(false);
    expect(await urlEvents()).toEqual([
      expect.objectContaining({
        actorName: expect.stringMatching(/^agent:/),
        outcome: 'success',
        params: { from: joinedAt, to: moved.url },
      }),
    ]);
    // The runner calls the agent where it is now.
    const { id } = await admin.ok(
      admin.mutation<{ id: string }>('jobs.create', {
        params: { kind: 'reset-register', targets: ['s390x'], persistent: true },
        selection: { hostIds: [hostId] },
      }),
    );
    const done = await finishedJob<{ status: string; targets: { error: string | null }[] }>(admin, id);
    expect(done).toMatchObject({ status: 'succeeded', targets: [{ error: null }] });
    expect(readFileSync(`${sandbox.hostMountPoint}/qemu-s390x`, 'utf8')).toMatch(/^flags: F$/m);
  }, 60_000);

  it('keeps the URL it had when the new one breaks the agent-URL rule, and audits that once', async () => {
    const kept = (await host()).agentUrl;
    const before = (await urlEvents()).length;
    const refusedUrl = 'http://localhost:7475';
    const moved = await restart(['--advertise-url', refusedUrl]);
    const warning = await moved.waitForLog((l) => l.event === 'advertise-url-refused', 15_000);
    expect(warning.message).toMatch(/localhost is not in BINFLEET_AGENT_URL_ALLOW.*--advertise-url/);
    // Several heartbeats later: the old URL stays, one audit event, one warning in each log.
    const seen = (await host()).lastSeenAt!;
    await until(
      '3 more heartbeats',
      async () => (await host()).lastSeenAt!.getTime() >= seen.getTime() + 2500,
      15_000,
    );
    expect(await host()).toMatchObject({ agentUrl: kept, refusedAgentUrl: refusedUrl });
    expect((await urlEvents()).slice(before)).toEqual([
      expect.objectContaining({
        outcome: 'denied',
        params: { from: kept, to: refusedUrl },
        detail: expect.stringMatching(/not in BINFLEET_AGENT_URL_ALLOW/),
      }),
    ]);
    expect(moved.logs.filter((l) => l.event === 'advertise-url-refused')).toHaveLength(1);
    expect(server.output().match(/"msg":"agent URL refused"/g)).toHaveLength(1);

    // One that carries a password is refused too, and recorded without it.
    const secretUrl = 'http://admin:s3cret-pw@127.0.0.1:7475/';
    const leaky = await restart(['--advertise-url', secretUrl]);
    await leaky.waitForLog((l) => l.event === 'advertise-url-refused', 15_000);
    await until(
      'the refusal of the URL with a password recorded',
      async () => /redacted@127\.0\.0\.1:7475/.test((await host()).refusedAgentUrl ?? ''),
      15_000,
    );
    expect(JSON.stringify(await urlEvents())).not.toMatch(/s3cret-pw/);
    expect(server.output()).not.toMatch(/s3cret-pw/);

    // Back on an allowed URL: followed, and the warning goes away.
    const fixed = await restart();
    await until(
      'the host to follow the fixed agent',
      async () => {
        const h = await host();
        return h.agentUrl === fixed.url && h.refusedAgentUrl === null;
      },
      15_000,
    );
  }, 60_000);

  it("shows the reconciler's last error through the hosts API until a pass succeeds", async () => {
    // The job above left a desired state; the reconciler runs every 500 ms from here on.
    const stateFile = join(stateDir, 'desired-state.json');
    const desired = readFileSync(stateFile, 'utf8');
    await restart([], '500ms');
    expect((await host()).reconcileError).toBeNull();
    const corruptedAt = Date.now();
    writeFileSync(stateFile, '{"version": 1, "targets": ');
    await agent.waitForLog((l) => l.event === 'reconcile' && l.outcome === 'failed', 10_000);
    const failing = await until(
      'the host to report the failure',
      async () => (await host()).reconcileError,
      20_000,
    );
    expect(failing.message).toMatch(/desired-state\.json/);
    expect(failing.at!.getTime()).toBeGreaterThanOrEqual(corruptedAt - 1000);
    expect(failing.at!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);

    writeFileSync(stateFile, desired);
    await until(
      'the error to clear after a good pass',
      async () => (await host()).reconcileError === null,
      30_000,
    );
  }, 90_000);

  it.runIf(database === 'sqlite')(
    "brings the emulators' versions, read after the join, with the next heartbeat rather than at the interval",
    async () => {
      // One emulator that takes a second to answer, so that the join and the first heartbeat go
      // without its version; beats every hour: only a heartbeat sent because it is in brings it.
      const dir = mkdtempSync(join(tmpdir(), 'binfleet-slow-emulator-'));
      const slow = join(dir, 'qemu-aarch64-static');
      writeFileSync(slow, '#!/bin/sh\nsleep 1\nexec /usr/bin/qemu-aarch64-static "$@"\n', { mode: 0o755 });
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const added = await fleet.addAgent({ args: ['--heartbeat-interval', '1h', '--interpreter-dir', dir] });
      type Interpreter = { target: string; version?: string; error?: string };
      const interpreters = async () => {
        const { facts } = await db.host.findUniqueOrThrow({ where: { id: added.hostId } });
        return (facts as { interpreters?: Interpreter[] }).interpreters ?? [];
      };
      const read = await until(
        'every emulator of the host to show its version',
        async () => {
          const list = await interpreters();
          return (
            list.length > 0 && list.every((i) => i.version !== undefined || i.error !== undefined) && list
          );
        },
        30_000,
      );
      // The real qemu-user-static behind it: the version it prints.
      expect(read.map((i) => i.target)).toEqual(['aarch64']);
      const aarch64 = read.find((i) => i.target === 'aarch64');
      expect(aarch64?.version).toBe(
        /version (\S+)/.exec(
          execFileSync('/usr/bin/qemu-aarch64-static', ['--version'], { encoding: 'utf8' }),
        )![1],
      );
      expect(read.filter((i) => i.error)).toEqual([]);
    },
    60_000,
  );

  it('serves agents one contract version behind and newer ones; older ones are told to upgrade', async () => {
    // The real agent reports its version and the contract version it speaks.
    await until('the agent to report its versions', async () => {
      const { facts } = await db.host.findUniqueOrThrow({ where: { id: hostId } });
      return (facts as { contractVersion?: number }).contractVersion === CONTRACT_VERSION;
    });
    const { facts } = await db.host.findUniqueOrThrow({ where: { id: hostId } });
    expect((facts as { agentVersion?: string }).agentVersion).toMatch(/^\d+\.\d+\.\d+/);

    const { link } = JSON.parse(readFileSync(join(stateDir, 'fleet-link.json'), 'utf8')) as {
      link: { heartbeatToken: string };
    };
    const send = async (procedure: 'join' | 'heartbeat', input: Record<string, unknown>) => {
      const response = await fetch(`${fleet.url}/api/trpc/agentApi.${procedure}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${link.heartbeatToken}` },
        body: JSON.stringify({ json: input }),
      });
      const body = (await response.json()) as { error?: { json: { message: string } } };
      return { status: response.status, message: body.error?.json.message };
    };
    const report = { hostname: 'sandbox', facts: {}, entries: [] };
    // As agents of contract 1 sent it: no versions at all.
    expect(await send('heartbeat', report)).toEqual({ status: 200, message: undefined });
    expect(
      await send('heartbeat', { ...report, facts: { contractVersion: CONTRACT_VERSION - 1 } }),
    ).toMatchObject({
      status: 200,
    });
    // A newer agent, with fields this control plane does not know.
    const newer = {
      ...report,
      facts: { contractVersion: CONTRACT_VERSION + 1, agentVersion: '99.0.0' },
      gpus: [1],
    };
    expect(await send('heartbeat', newer)).toMatchObject({ status: 200 });
    // Two versions behind: refused, for heartbeats and joins alike, saying what to do.
    const old = { ...report, facts: { contractVersion: CONTRACT_VERSION - 2 } };
    expect(await send('heartbeat', old)).toEqual({
      status: 400,
      message: expect.stringMatching(
        new RegExp(
          `^Cannot take the heartbeat: this agent speaks contract version ${CONTRACT_VERSION - 2}.*upgrade binfleet-agent`,
        ),
      ),
    });
    const oldJoin = {
      ...old,
      joinToken: 'bfj_x',
      agentId: 'old-agent-0001',
      agentUrl: 'http://127.0.0.1:7475',
    };
    expect(await send('join', oldJoin)).toEqual({
      status: 400,
      message: expect.stringMatching(/^Cannot join: .*upgrade binfleet-agent/),
    });
  }, 30_000);
});
