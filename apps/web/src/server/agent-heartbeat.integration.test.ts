import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTRACT_VERSION } from '@binfleet/agent-contract';
import { createDb, migrateDeploy, type Db } from '@binfleet/db';
import {
  createThrowawayPostgresDatabase,
  createThrowawaySqliteDatabase,
  type ThrowawayDatabase,
} from '@binfleet/db/testing';
import { startAgent, startSandbox, type AgentProcess, type Sandbox } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from './testing/api-client.ts';
import { startControlPlaneProcess, type ControlPlaneProcess } from './testing/control-plane-process.ts';
import { until } from './testing/waiting.ts';

// What heartbeats carry besides facts and entries: where the agent is now, its reconciler's last
// error, and its versions (agents one contract version behind are served). One real agent in its own binfmt_misc sandbox, restarted with the same state directory (so
// without a new join), against the control plane as a process of its own, on SQLite and PostgreSQL.
const ADMIN = { username: 'admin', password: 'admin-password-1' };

type HostView = {
  agentUrl: string;
  refusedAgentUrl: string | null;
  reconcileError: { message: string; at: Date | null } | null;
  lastSeenAt: Date | null;
};

describe.each([
  ['SQLite', createThrowawaySqliteDatabase],
  ['PostgreSQL', () => createThrowawayPostgresDatabase('binfleet_heartbeat_test')],
] as const)('agent heartbeats on %s', (_name, makeDatabase) => {
  let database: ThrowawayDatabase;
  let db: Db;
  let dataDir: string;
  let stateDir: string;
  let server: ControlPlaneProcess;
  let admin: ApiClient;
  let sandbox: Sandbox;
  let agent: AgentProcess;
  let hostId: string;

  const host = () => admin.ok(admin.query<HostView>('fleet.host', { id: hostId }));
  /** The same agent again: same state dir (its link to the server), a new free port. */
  const restart = async (args: readonly string[] = [], reconcileInterval = '1h') => {
    await agent.stop('SIGTERM');
    agent = await startAgent(sandbox, {
      stateDir,
      args: ['--heartbeat-interval', '1s', '--reconcile-interval', reconcileInterval, ...args],
    });
    return agent;
  };
  const urlEvents = () =>
    db.auditEvent.findMany({ where: { action: 'host.agent-url' }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });

  beforeAll(async () => {
    database = await makeDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'binfleet-heartbeat-'));
    await migrateDeploy(database.url);
    db = createDb(database.url);
    server = await startControlPlaneProcess({
      DATABASE_URL: database.url,
      BINFLEET_DATA_DIR: dataDir,
      BINFLEET_ADMIN_USERNAME: ADMIN.username,
      BINFLEET_ADMIN_PASSWORD: ADMIN.password,
      BINFLEET_INSECURE_COOKIES: '1',
      BINFLEET_HEARTBEAT_INTERVAL_MS: '1000',
      BINFLEET_RUNNER_POLL_MS: '200',
      // Agents here listen on loopback; a host name is refused, as it is never resolved.
      BINFLEET_AGENT_URL_ALLOW: '127.0.0.0/8',
    });
    admin = await ApiClient.signIn(server.url, ADMIN.username, ADMIN.password);
    const { token } = await admin.ok(
      admin.mutation<{ token: string }>('tokens.create', {
        label: 'heartbeat',
        expiresInHours: 1,
        maxUses: 1,
      }),
    );
    sandbox = await startSandbox();
    stateDir = mkdtempSync(join(dataDir, 'agent-'));
    agent = await startAgent(sandbox, {
      stateDir,
      args: [
        '--server',
        server.url,
        '--join-token',
        token,
        '--heartbeat-interval',
        '1s',
        '--reconcile-interval',
        '1h',
      ],
    });
    hostId = String((await agent.waitForLog((l) => l.event === 'joined', 30_000)).hostId);
  }, 120_000);

  afterAll(async () => {
    await agent?.stop('SIGKILL').catch(() => undefined);
    await sandbox?.stop();
    await server?.stop();
    await db?.$disconnect();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

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
    const done = await until('the job to finish', async () => {
      const j = await admin.ok(
        admin.query<{ status: string; targets: { error: string | null }[] }>('jobs.get', { id }),
      );
      return ['succeeded', 'failed', 'cancelled'].includes(j.status) && j;
    });
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
      const response = await fetch(`${server.url}/api/trpc/agentApi.${procedure}`, {
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
    expect(await send('heartbeat', { ...report, contractVersion: CONTRACT_VERSION - 1 })).toMatchObject({
      status: 200,
    });
    // A newer agent, with fields this control plane does not know.
    const newer = { ...report, contractVersion: CONTRACT_VERSION + 1, agentVersion: '99.0.0', gpus: [1] };
    expect(await send('heartbeat', newer)).toMatchObject({ status: 200 });
    // Two versions behind: refused, for heartbeats and joins alike, saying what to do.
    const old = { ...report, contractVersion: CONTRACT_VERSION - 2 };
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
