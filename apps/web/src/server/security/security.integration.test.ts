import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { Db } from '@binfleet/db';
import {
  FLAG_INJECTIONS,
  INJECTIONS,
  kernelSnapshot,
  startAgent,
  startSandbox,
  type AgentProcess,
  type Sandbox,
} from '@binfleet/test-sandbox';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, type ApiResult } from '../testing/api-client.ts';
import { DATABASES, TEST_ADMIN as ADMIN } from '../testing/fixture.ts';
import { MAX_BATCH } from '../http-limits.ts';
import { startFleet, type Fleet } from '../testing/fleet.ts';
import { finishedJob, until } from '../testing/waiting.ts';
import type { WebServer } from '../testing/web-server.ts';
import { ACCESS, HTTP_ROUTES, procedureTypes, type MinimumRole, type ProbeIds } from './access-table.ts';
import { hashPasswordAtCost } from './passwords.ts';

// Security probes of the control plane, over real HTTP against the API as a real process, on SQLite
// and PostgreSQL, with a real agent joined from a sandbox that has its own kernel binfmt_misc.
const VIEWER = { username: 'vera', password: 'viewer-password-1' };
const OPERATOR = { username: 'otto', password: 'operator-password-1' };
const REGISTRY_PASSWORD = 'registry-secret-password-9';
const RANK: Record<MinimumRole, number> = {
  public: -1,
  'join token': -1,
  agent: -1,
  viewer: 0,
  operator: 1,
  admin: 2,
};

describe.each(DATABASES)('control plane security probes on %s', (dbName, database) => {
  let fleet: Fleet;
  let db: Db;
  let server: WebServer;
  let sandbox: Sandbox;
  let agent: AgentProcess;
  /** Agents stopped along the way (their logs are searched for secrets too). */
  const retired: AgentProcess[] = [];
  let admin: ApiClient;
  let viewer: ApiClient;
  let operator: ApiClient;
  let ids: ProbeIds;
  /** Every secret the scenario handles, by what it is; none may show where it does not belong. */
  const secrets = new Map<string, string>();
  /** Every response body of the control plane the tests read, with the procedure it answered. */
  const responses: { path: string; body: string }[] = [];
  const realFetch = globalThis.fetch;
  const types = procedureTypes();

  const kernel = () => kernelSnapshot(sandbox);

  /** The database's rows that a refused call could have changed (audit events are meant to grow). */
  const state = async () => {
    const strip = <T extends object>(rows: T[]) =>
      rows.map((r) =>
        Object.fromEntries(
          // What the control plane observes on its own (heartbeats, its reachability checks of the
          // agents) changes at any time; no caller's probe can change it.
          Object.entries(r).filter(
            ([k]) =>
              ![
                'lastSeenAt',
                'expiresAt',
                'updatedAt',
                'reachClaimedAt',
                'reachCheckedAt',
                'reachable',
                'reachError',
              ].includes(k),
          ),
        ),
      );
    return {
      users: strip(await db.user.findMany({ orderBy: { id: 'asc' } })),
      sessions: strip(await db.session.findMany({ orderBy: { id: 'asc' } })),
      joinTokens: strip(await db.joinToken.findMany({ orderBy: { id: 'asc' } })),
      hosts: strip(await db.host.findMany({ orderBy: { id: 'asc' } })),
      policies: strip(await db.policy.findMany({ orderBy: { id: 'asc' } })),
      jobs: strip(await db.job.findMany({ orderBy: { id: 'asc' } })),
      registries: strip(await db.registry.findMany({ orderBy: { id: 'asc' } })),
      repositories: strip(await db.repository.findMany({ orderBy: { id: 'asc' } })),
      builds: strip(await db.build.findMany({ orderBy: { id: 'asc' } })),
    };
  };

  /** A raw HTTP call: no CSRF header unless given, the cookie of `as` if any, an optional bearer. */
  const raw = async (
    path: string,
    input: unknown,
    options: { as?: ApiClient; csrf?: string; bearer?: string } = {},
  ): Promise<ApiResult<unknown>> => {
    const type = types[path];
    const headers: Record<string, string> = {
      ...(options.csrf ? { 'x-binfleet-csrf': options.csrf } : {}),
      ...(options.bearer ? { authorization: `Bearer ${options.bearer}` } : {}),
    };
    const init: RequestInit =
      type === 'mutation'
        ? {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body: JSON.stringify(superjson.serialize(input ?? null)),
          }
        : { method: 'GET', headers: { ...headers, accept: 'text/event-stream' } };
    const query =
      type !== 'mutation' && input !== undefined
        ? `?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`
        : '';
    const url = `/api/trpc/${path}${query}`;
    const res = options.as
      ? await options.as.raw(url, { ...init, signal: AbortSignal.timeout(10_000) })
      : await fetch(`${server.url}${url}`, { ...init, signal: AbortSignal.timeout(10_000) });
    if (res.headers.get('content-type')?.includes('text/event-stream')) {
      // A subscription: after `connected`, its first event says whether it was allowed.
      const reader = res.body!.getReader();
      let text = '';
      let event: string | undefined;
      while (event === undefined) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
        event = text
          .split('\n\n')
          .slice(0, -1)
          .find((e) => e.trim() !== '' && !/^event: (connected|ping)$/m.test(e));
      }
      await reader.cancel();
      const data = event && /^data: (.*)$/m.exec(event)?.[1];
      const parsed = data ? (JSON.parse(data) as { json?: { data?: { code?: string } } }) : undefined;
      const code = event?.includes('event: serialized-error')
        ? (parsed?.json?.data?.code ?? 'ERROR')
        : undefined;
      return code ? { status: res.status, error: { code, message: text } } : { status: res.status };
    }
    const body = (await res.json()) as { error?: { json: { message: string; data: { code: string } } } };
    return body.error
      ? { status: res.status, error: { code: body.error.json.data.code, message: body.error.json.message } }
      : { status: res.status, data: body };
  };

  beforeAll(async () => {
    // Keep a copy of every response body from the control plane (all this process calls under
    // /api/, from the fixture's first sign-in on), for the secrets check.
    globalThis.fetch = async (input, init) => {
      const res = await realFetch(input, init);
      const url = new URL(String(input instanceof Request ? input.url : input));
      if (url.pathname.startsWith('/api/') && !res.headers.get('content-type')?.includes('event-stream')) {
        const path = url.pathname.replace('/api/trpc/', '');
        responses.push({ path, body: await res.clone().text() });
      }
      return res;
    };
    fleet = await startFleet({
      name: 'security',
      database,
      agents: 1,
      heartbeatIntervalMs: 3_600_000,
      env: {
        BINFLEET_AGENT_CALL_TIMEOUT_MS: '4000',
        // The periodic sync takes up a new repository at its next check (every 30 s), which may fall
        // inside a probe that compares the rows before and after; the secrets test syncs by hand.
        BINFLEET_CATALOGUE_SYNC_INTERVAL_MS: '0',
        // Most probes sign in from 127.0.0.1; the limit per address is probed on its own below.
        BINFLEET_LOGIN_LIMIT_PER_CLIENT: '1000',
        // Refusals answered at once: the probes need no tarpit.
        BINFLEET_LOGIN_REFUSAL_DELAY_MS: '0',
      },
      users: [
        { ...VIEWER, role: 'viewer' },
        { ...OPERATOR, role: 'operator' },
      ],
    });
    ({ db, server, api: admin } = fleet);
    const [host] = fleet.hosts;
    ({ agent } = host!);
    sandbox = host!.sandbox!;
    viewer = await fleet.signIn(VIEWER);
    operator = await fleet.signIn(OPERATOR);
    const joinToken = await fleet.joinToken();
    const registry = await admin.ok(
      admin.mutation<{ id: string }>('registries.create', {
        url: `http://${process.env.BINFLEET_REGISTRY ?? '127.0.0.1:5000'}`,
        username: 'probe',
        password: REGISTRY_PASSWORD,
      }),
    );
    const repository = await admin.ok(
      admin.mutation<{ id: string }>('registries.addRepository', {
        registryId: registry.id,
        name: 'probe/qemu-user-static',
      }),
    );
    const users = await admin.ok(admin.query<{ id: string; username: string }[]>('auth.users'));
    ids = {
      hostId: host!.hostId,
      operatorId: users.find((u) => u.username === OPERATOR.username)!.id,
      joinTokenId: joinToken.id,
      registryId: registry.id,
      repositoryId: repository.id,
    };
    secrets.set('admin password', ADMIN.password);
    secrets.set('viewer password', VIEWER.password);
    secrets.set('operator password', OPERATOR.password);
    secrets.set('registry password', REGISTRY_PASSWORD);
    secrets.set('join token', joinToken.token);
    const link = JSON.parse(readFileSync(join(agentStateDir(), 'fleet-link.json'), 'utf8')) as {
      link: { heartbeatToken: string };
    };
    secrets.set("agent's heartbeat credential", link.link.heartbeatToken);
  }, 120_000);

  const agentStateDir = () => fleet.hosts[0]!.stateDir;

  afterAll(async () => {
    globalThis.fetch = realFetch;
    await fleet?.stop();
  });

  describe('every procedure x every caller below its role', () => {
    it.each(Object.keys(ACCESS).sort())('%s', async (path) => {
      const row = ACCESS[path]!;
      const input = row.input?.(ids);
      const type = types[path];
      const before = await state();
      const kernelBefore = kernel();
      const expectRefused = (who: string, r: ApiResult<unknown>, code: string) =>
        expect({ who, code: r.error?.code }).toEqual({ who, code });

      if (RANK[row.role] >= 0) {
        expectRefused('no session', await raw(path, input, { csrf: 'x' }), 'UNAUTHORIZED');
        const below = [viewer, operator].slice(0, RANK[row.role]);
        for (const [i, who] of below.entries()) {
          const csrf = (await who.ok(who.query<{ csrf: string }>('auth.me'))).csrf;
          expectRefused(['viewer', 'operator'][i]!, await raw(path, input, { as: who, csrf }), 'FORBIDDEN');
        }
        if (type === 'mutation') {
          // CSRF: the admin's own cookie, without the header or with a wrong one.
          expectRefused('admin without CSRF header', await raw(path, input, { as: admin }), 'FORBIDDEN');
          expectRefused(
            'admin, wrong CSRF',
            await raw(path, input, { as: admin, csrf: 'bfc_x' }),
            'FORBIDDEN',
          );
        }
        // Not stricter than the table says: with the role, a malformed input reaches the parser.
        if (input !== undefined) {
          const withRole = [viewer, operator, admin][RANK[row.role]]!;
          const csrf = (await withRole.ok(withRole.query<{ csrf: string }>('auth.me'))).csrf;
          expectRefused(
            'with the role',
            await raw(path, { probe: 1 }, { as: withRole, csrf }),
            'BAD_REQUEST',
          );
        }
      } else if (row.role === 'agent') {
        expectRefused('no credential', await raw(path, input), 'UNAUTHORIZED');
        expectRefused('wrong credential', await raw(path, input, { bearer: 'bfa_wrong' }), 'UNAUTHORIZED');
        expectRefused(
          'the join token',
          await raw(path, input, { bearer: secrets.get('join token')! }),
          'UNAUTHORIZED',
        );
        expectRefused('an admin session', await raw(path, input, { as: admin, csrf: 'x' }), 'UNAUTHORIZED');
      } else if (row.role === 'join token') {
        expectRefused('an unknown join token', await raw(path, input), 'UNAUTHORIZED');
        expectRefused(
          'the heartbeat credential',
          await raw(path, { ...(input as object), joinToken: secrets.get("agent's heartbeat credential") }),
          'UNAUTHORIZED',
        );
      } else if (path === 'auth.setup') {
        expectRefused('after setup', await raw(path, input, { csrf: 'x' }), 'FORBIDDEN');
        expectRefused('without CSRF header', await raw(path, input), 'FORBIDDEN');
      } else if (path === 'auth.login') {
        expectRefused('without CSRF header', await raw(path, ADMIN), 'FORBIDDEN');
      } else {
        const me = await raw(path, undefined);
        expect(me.data).toMatchObject({ result: { data: { json: { user: null, csrf: null } } } });
      }
      expect(await state()).toEqual(before);
      expect(kernel()).toEqual(kernelBefore);
    });
  });

  describe('HTTP routes outside tRPC x every caller below their role', () => {
    it.each(Object.keys(HTTP_ROUTES).sort())('%s', async (route) => {
      const row = HTTP_ROUTES[route]!;
      const [method, path] = route.split(' ') as [string, string];
      const before = { ...(await state()), packages: await db.uploadedPackage.count() };
      const call = async (as: ApiClient | undefined, csrf: string | undefined) => {
        const init: RequestInit = {
          method,
          headers: {
            'content-type': 'application/vnd.debian.binary-package',
            'x-binfleet-filename': 'probe.deb',
            ...(csrf ? { 'x-binfleet-csrf': csrf } : {}),
          },
          body: new Uint8Array(4096).fill(7),
        };
        const res = as ? await as.raw(path, init) : await fetch(`${server.url}${path}`, init);
        await res.arrayBuffer();
        return res.status;
      };
      const refusals: Record<string, number> = { 'no session': await call(undefined, 'x') };
      for (const [i, who] of [viewer, operator].slice(0, RANK[row.role]).entries())
        refusals[['viewer', 'operator'][i]!] = await call(who, who.sessionHeaders['x-binfleet-csrf']);
      refusals['admin without CSRF header'] = await call(admin, undefined);
      refusals['admin, wrong CSRF'] = await call(admin, 'bfc_x');
      expect(refusals).toEqual({
        'no session': 401,
        ...(RANK[row.role] >= 1 ? { viewer: 403 } : {}),
        ...(RANK[row.role] >= 2 ? { operator: 403 } : {}),
        'admin without CSRF header': 403,
        'admin, wrong CSRF': 403,
      });
      expect({ ...(await state()), packages: await db.uploadedPackage.count() }).toEqual(before);
    });
  });

  describe('join tokens', () => {
    const joinWith = (token: string, agentId: string) =>
      raw('agentApi.join', {
        joinToken: token,
        agentId,
        agentUrl: 'http://127.0.0.1:9',
        hostname: agentId,
        facts: {},
        entries: [],
      });
    const newToken = async (maxUses: number | null) => {
      const t = await admin.ok(
        admin.mutation<{ id: string; token: string }>('tokens.create', {
          label: `probe ${maxUses}`,
          expiresInHours: 1,
          maxUses,
        }),
      );
      secrets.set(`join token ${t.id}`, t.token);
      return t;
    };

    it('refuses reuse beyond maxUses, and the refused join creates no host', async () => {
      const t = await newToken(1);
      const first = await joinWith(t.token, 'probe-joiner-0001');
      expect(first.status).toBe(200);
      const { agentToken, heartbeatToken } = (
        first.data as { result: { data: { json: Record<string, string> } } }
      ).result.data.json;
      secrets.set('agent token (server to agent)', agentToken!);
      secrets.set('heartbeat credential', heartbeatToken!);
      const hosts = await db.host.count();
      const again = await joinWith(t.token, 'probe-joiner-0002');
      expect(again).toMatchObject({ status: 401, error: { message: /used up.*Ask an admin/ } });
      // Not even the host that joined with it can join again on a used-up token.
      expect((await joinWith(t.token, 'probe-joiner-0001')).status).toBe(401);
      expect(await db.host.count()).toBe(hosts);
    });

    it('refuses a real agent joining with a used-up token: no host appears', async () => {
      const t = await newToken(1);
      expect((await joinWith(t.token, 'probe-joiner-0003')).status).toBe(200);
      const hosts = await db.host.count();
      const second = await startSandbox();
      const stateDir = mkdtempSync(join(fleet.dir, 'second-'));
      try {
        const refused = await startAgent(second, {
          stateDir,
          args: ['--server', server.url, '--join-token', t.token, '--reconcile-interval', '1h'],
        });
        // It listens first, then joins; refused, it says why and ends on its own (its shutdown can
        // outlast the message, so a signal sent right after it would race the exit).
        await until('the refused agent to say why', async () => /used up/.test(refused.stderr()));
        const code = await Promise.race([refused.exited, sleep(15_000, 'still running')]);
        if (code === 'still running') await refused.stop('SIGKILL');
        expect(code).toBe(1);
        expect(refused.logs.some((l) => l.event === 'joined')).toBe(false);
        expect(await db.host.count()).toBe(hosts);
      } finally {
        await second.stop();
        rmSync(stateDir, { recursive: true, force: true });
      }
    });

    it('refuses an expired token and a revoked one; neither creates a host', async () => {
      const expired = await newToken(null);
      // Tokens last at least an hour through the API: age this one in the database.
      await db.joinToken.update({
        where: { id: expired.id },
        data: { expiresAt: new Date(Date.now() - 1000) },
      });
      const revoked = await newToken(null);
      await admin.ok(admin.mutation('tokens.revoke', { id: revoked.id }));
      const hosts = await db.host.count();
      expect(await joinWith(expired.token, 'probe-joiner-0004')).toMatchObject({
        status: 401,
        error: { message: /expired/ },
      });
      expect(await joinWith(revoked.token, 'probe-joiner-0005')).toMatchObject({
        status: 401,
        error: { message: /revoked/ },
      });
      expect(await db.host.count()).toBe(hosts);
      expect((await db.joinToken.findUniqueOrThrow({ where: { id: revoked.id } })).uses).toBe(0);
    });

    const joinAs = (token: string, agentId: string, extra: Record<string, unknown> = {}) =>
      raw('agentApi.join', {
        joinToken: token,
        agentId,
        agentUrl: 'http://127.0.0.1:9',
        hostname: agentId,
        facts: {},
        entries: [],
        ...extra,
      });
    const answerOf = (r: ApiResult<unknown>) =>
      (r.data as { result: { data: { json: { hostId: string; heartbeatToken: string } } } }).result.data.json;

    it("a known agent id re-joins only with that agent's credential; otherwise nothing changes", async () => {
      const t = await newToken(null);
      const first = await joinAs(t.token, 'probe-rejoin-0001');
      expect(first.status).toBe(200);
      const { hostId, heartbeatToken } = answerOf(first);
      secrets.set('heartbeat credential (re-join)', heartbeatToken);
      const before = await state();
      const uses = (await db.joinToken.findUniqueOrThrow({ where: { id: t.id } })).uses;
      for (const [who, extra] of [
        ['no credential', {}],
        ['a wrong credential', { heartbeatToken: 'bfa_wrong' }],
        ["another host's credential", { heartbeatToken: secrets.get("agent's heartbeat credential") }],
      ] as const) {
        const r = await joinAs(t.token, 'probe-rejoin-0001', { ...extra, agentUrl: 'http://127.0.0.1:10' });
        expect({ who, status: r.status, message: r.error?.message }).toEqual({
          who,
          status: 403,
          message: expect.stringMatching(
            /already belongs to host probe-rejoin-0001.*remove .*dashboard.*fleet-link\.json/s,
          ),
        });
      }
      // Nothing moved: not the host row (its URL, credentials), not the token's use count.
      expect(await state()).toEqual(before);
      expect((await db.joinToken.findUniqueOrThrow({ where: { id: t.id } })).uses).toBe(uses);
      // Each attempt is in the audit log, under the host it tried to take, without a credential.
      const refusals = await db.auditEvent.findMany({
        where: { action: 'host.join', outcome: 'denied', subjects: { contains: '|probe-rejoin-0001|' } },
        orderBy: [{ at: 'asc' }, { id: 'asc' }],
      });
      expect(refusals.map((e) => ({ params: e.params, detail: e.detail }))).toEqual([
        {
          params: {
            agentId: 'probe-rejoin-0001',
            agentUrl: 'http://127.0.0.1:10',
            hostname: 'probe-rejoin-0001',
          },
          detail: expect.stringMatching(/belongs to host probe-rejoin-0001.*carried no heartbeat credential/),
        },
        ...['a wrong credential', "another host's credential"].map(() => ({
          params: {
            agentId: 'probe-rejoin-0001',
            agentUrl: 'http://127.0.0.1:10',
            hostname: 'probe-rejoin-0001',
          },
          detail: expect.stringMatching(/carried another host's or an unknown heartbeat credential/),
        })),
      ]);

      // With the credential: the same row, new credentials, and the old one no longer heartbeats.
      const again = await joinAs(t.token, 'probe-rejoin-0001', { heartbeatToken });
      expect(again.status).toBe(200);
      expect(answerOf(again).hostId).toBe(hostId);
      secrets.set('heartbeat credential (re-join, again)', answerOf(again).heartbeatToken);
      const beat = { hostname: 'probe-rejoin-0001', facts: {}, entries: [] };
      expect((await raw('agentApi.heartbeat', beat, { bearer: heartbeatToken })).status).toBe(401);
      expect((await raw('agentApi.heartbeat', beat, { bearer: answerOf(again).heartbeatToken })).status).toBe(
        200,
      );
    });

    it("cannot take over the real agent's host with its id and a valid join token", async () => {
      const t = await newToken(null);
      const { agentId } = JSON.parse(readFileSync(join(agentStateDir(), 'fleet-link.json'), 'utf8')) as {
        agentId: string;
      };
      const before = await state();
      const r = await joinAs(t.token, agentId, { agentUrl: 'http://127.0.0.1:10', hostname: 'mallory' });
      expect(r).toMatchObject({ status: 403, error: { message: /already belongs to host/ } });
      expect(await state()).toEqual(before);
      expect(
        await db.auditEvent.findFirst({
          where: { action: 'host.join', outcome: 'denied', actorName: 'agent:mallory' },
          orderBy: { at: 'desc' },
        }),
      ).toMatchObject({ targets: [before.hosts.find((h) => h.agentId === agentId)!.hostname] });
      // The real agent, restarted with its state dir and the join token, re-joins as itself.
      retired.push(agent);
      agent = await fleet.restartAgent(0, {
        args: ['--server', server.url, '--join-token', secrets.get('join token')!],
      });
      expect(await agent.waitForLog((l) => l.event === 'joined', 30_000)).toMatchObject({
        hostId: ids.hostId,
      });
      expect(await db.host.count()).toBe(before.hosts.length);
      // The server calls the restarted agent with the credential of that join.
      const job = await admin.ok(
        admin.mutation<{ id: string }>('jobs.create', {
          params: { kind: 'verify', targets: ['s390x'] },
          selection: { hostIds: [ids.hostId] },
        }),
      );
      const done = await finishedJob<{ status: string; targets: { error: string | null }[] }>(admin, job.id);
      // It reached the agent and the agent accepted the server's token.
      expect(done.targets).toHaveLength(1);
      expect(done.targets[0]!.error ?? '').not.toMatch(/unreachable|unauthori[sz]ed|token|credential/i);
    });

    it('refuses agent URLs that are not plain http(s), or carry credentials', async () => {
      const t = await newToken(null);
      const before = await state();
      for (const agentUrl of [
        'file:///etc/passwd',
        'gopher://127.0.0.1:70/',
        'http://admin:secret@127.0.0.1:9',
        'http://127.0.0.1:9/?redirect=http://169.254.169.254/',
      ]) {
        const r = await joinAs(t.token, 'probe-url-00001', { agentUrl });
        expect({ agentUrl, status: r.status }).toEqual({ agentUrl, status: 400 });
      }
      expect(await state()).toEqual(before);
    });

    it('with BINFLEET_AGENT_URL_ALLOW, agent URLs must point inside it', async () => {
      const replica = await fleet.startReplica({
        BINFLEET_RUNNER: 'off',
        BINFLEET_AGENT_URL_ALLOW: '10.0.0.0/8, fd00::/8 agent-1.lan,*.fleet.example',
      });
      try {
        const t = await newToken(null);
        const joinThere = (agentUrl: string, agentId: string) =>
          new ApiClient(replica.url).mutation<{ hostId: string }>('agentApi.join', {
            joinToken: t.token,
            agentId,
            agentUrl,
            hostname: agentId,
            facts: {},
            entries: [],
          });
        const hosts = await db.host.count();
        for (const agentUrl of [
          'http://127.0.0.1:7070',
          'http://169.254.169.254/',
          'http://[::1]:7070',
          'http://agent-1.lan.evil.example:7070',
          'http://2130706433:7070',
        ]) {
          const r = await joinThere(agentUrl, 'probe-allow-0001');
          expect({ agentUrl, status: r.status, message: r.error?.message }).toEqual({
            agentUrl,
            status: 400,
            message: expect.stringMatching(/not in BINFLEET_AGENT_URL_ALLOW.*--advertise-url/),
          });
        }
        expect(await db.host.count()).toBe(hosts);
        for (const [i, agentUrl] of [
          'http://10.20.30.40:7070',
          'http://[fd00::5]:7070',
          'https://agent-1.lan:7070',
          'http://b.fleet.example:7070',
        ].entries())
          expect((await joinThere(agentUrl, `probe-allow-100${i}`)).status).toBe(200);
        // What it joined with is recorded on the host and in the audit log.
        const host = await db.host.findUniqueOrThrow({ where: { agentId: 'probe-allow-1000' } });
        expect(host.agentUrl).toBe('http://10.20.30.40:7070');
        const joined = await db.auditEvent.findFirst({
          where: { action: 'host.join', actorName: 'agent:probe-allow-1000' },
        });
        expect(joined?.params).toEqual({ agentUrl: 'http://10.20.30.40:7070', transport: 'direct' });
      } finally {
        await replica.stop();
      }
    });
  });

  describe('login brute force', () => {
    // Which address and account an attempt counts against is decided before the database; the counting
    // itself (atomic upserts, concurrent bursts, replicas, refusal rows) is proven on both databases.
    // The tests of that decision alone run once, on SQLite.
    const itOnce = database === 'sqlite' ? it : it.skip;
    const TARGET = { username: 'brute', password: 'brute-force-target-1' };
    /**
     * The users these tests guess at, written with scrypt at N=2^10: sign-in checks a guess with the
     * parameters stored in the hash, so each costs ~1 ms instead of ~0.5 s at the product's N=2^17,
     * and the ~100 guesses here count the same. Unknown names still cost a full hash.
     */
    const addGuessedUser = async (user: { username: string; password: string }, role: 'viewer' | 'admin') => {
      await db.user.create({
        data: {
          username: user.username,
          role,
          passwordHash: await hashPasswordAtCost(user.password, 2 ** 10),
        },
      });
    };
    const login = (password: string, username = TARGET.username) =>
      new ApiClient(server.url).mutation('auth.login', { username, password });

    it('5 wrong passwords, then the account is rate limited: even the right password is refused', async () => {
      await addGuessedUser(TARGET, 'viewer');
      secrets.set('brute-force target password', TARGET.password);
      for (let i = 0; i < 5; i++) expect((await login(`wrong-password-${i}`)).status).toBe(401);
      const limited = await login('wrong-password-5');
      expect(limited).toMatchObject({ status: 429, error: { message: /wait \d+ minutes? and try again/ } });
      expect((await login(TARGET.password)).status).toBe(429);
      // Per account: another user signs in as usual.
      expect((await login(VIEWER.password, VIEWER.username)).status).toBe(200);
    });

    it('holds on another replica of the control plane (the count is in the database)', async () => {
      const replica = await fleet.startReplica();
      try {
        const r = await new ApiClient(replica.url).mutation('auth.login', TARGET);
        expect(r.status).toBe(429);
      } finally {
        await replica.stop();
      }
    });

    it('a burst of concurrent guesses gets no more than 5 checked', async () => {
      const burst = { username: 'burst', password: 'burst-target-password-1' };
      await addGuessedUser(burst, 'viewer');
      secrets.set('burst target password', burst.password);
      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, i) => login(`wrong-guess-${i}`, burst.username)),
      );
      const checked = answers.filter((a) => a.status === 401).length;
      expect(answers.filter((a) => a.status !== 401 && a.status !== 429)).toEqual([]);
      expect(checked).toBeLessThanOrEqual(5);
      expect((await login(burst.password, burst.username)).status).toBe(429);
    });

    /** A sign-in over a connection from `local` (any 127.0.0.0/8 address is this machine). */
    const loginFrom = (
      local: string,
      credentials: { username: string; password: string },
      headers: Record<string, string> = {},
      base = server.url,
    ) =>
      new Promise<{ status: number; message: string; code?: string; cookies: string[] }>(
        (resolve, reject) => {
          const body = JSON.stringify(superjson.serialize(credentials));
          const req = request(
            `${base}/api/trpc/auth.login`,
            {
              method: 'POST',
              localAddress: local,
              headers: { 'content-type': 'application/json', 'x-binfleet-csrf': 'sign-in', ...headers },
            },
            (res) => {
              let text = '';
              res.on('data', (c: Buffer) => (text += c.toString()));
              res.on('end', () => {
                const parsed = JSON.parse(text) as {
                  error?: { json?: { message: string; data: { code: string } }; message?: string };
                };
                resolve({
                  status: res.statusCode ?? 0,
                  message: parsed.error?.json?.message ?? parsed.error?.message ?? '',
                  ...(parsed.error?.json ? { code: parsed.error.json.data.code } : {}),
                  cookies: res.headers['set-cookie'] ?? [],
                });
              });
            },
          );
          req.on('error', reject);
          req.end(body);
        },
      );

    itOnce('someone guessing from one address does not lock the owner out at another', async () => {
      const owner = { username: 'owner', password: 'owner-password-12' };
      await addGuessedUser(owner, 'viewer');
      secrets.set('owner password', owner.password);
      const guess = (i: number) => loginFrom('127.0.0.3', { ...owner, password: `guess-${i}` });
      for (let i = 0; i < 5; i++) expect((await guess(i)).status).toBe(401);
      expect(await guess(5)).toMatchObject({ status: 429, message: /from your address.*wait \d+ minutes?/ });
      expect((await loginFrom('127.0.0.3', owner)).status).toBe(429);
      expect((await loginFrom('127.0.0.4', owner)).status).toBe(200);
    });

    itOnce(
      'ignores X-Forwarded-For unless the proxy is trusted: a guesser cannot pose as many clients',
      async () => {
        const spoofed = { username: 'spoofed', password: 'spoofed-password-1' };
        await addGuessedUser(spoofed, 'viewer');
        secrets.set('spoofed password', spoofed.password);
        const answers = [];
        for (let i = 0; i < 7; i++)
          answers.push(
            (
              await loginFrom(
                '127.0.0.5',
                { ...spoofed, password: `guess-${i}` },
                {
                  'x-forwarded-for': `203.0.113.${i}`,
                },
              )
            ).status,
          );
        expect(answers).toEqual([401, 401, 401, 401, 401, 429, 429]);
      },
    );

    itOnce(
      'behind a trusted proxy, counts per forwarded address, up to a ceiling for the account',
      async () => {
        const replica = await fleet.startReplica({
          BINFLEET_RUNNER: 'off',
          BINFLEET_TRUSTED_PROXIES: '127.0.0.1',
          BINFLEET_LOGIN_LIMIT_PER_ACCOUNT: '8',
        });
        try {
          const target = { username: 'proxied', password: 'proxied-password-1' };
          await addGuessedUser(target, 'viewer');
          secrets.set('proxied password', target.password);
          // The proxy appends the address it saw; what the client wrote before it is not believed.
          const via = (client: string, password: string) =>
            loginFrom(
              '127.0.0.1',
              { ...target, password },
              { 'x-forwarded-for': `127.0.0.4, ${client}` },
              replica.url,
            );
          for (let i = 0; i < 5; i++) expect((await via('198.51.100.1', `guess-${i}`)).status).toBe(401);
          expect((await via('198.51.100.1', 'guess-5')).status).toBe(429);
          expect((await via('198.51.100.2', target.password)).status).toBe(200);
          // Spread over addresses, guesses still meet the account's ceiling (8 since that sign-in).
          const spread = [];
          for (const [i, client] of ['198.51.100.3', '198.51.100.4', '198.51.100.5'].entries())
            for (let j = 0; j < 3; j++) spread.push((await via(client, `spread-${i}-${j}`)).status);
          expect(spread).toEqual([401, 401, 401, 401, 401, 401, 401, 401, 429]);
          expect(await via('198.51.100.6', target.password)).toMatchObject({
            status: 429,
            message: /many addresses/,
          });
        } finally {
          await replica.stop();
        }
      },
    );
    /** The cookie a sign-in set, as a Cookie header entry. */
    const cookieOf = (cookies: string[], name: string) =>
      cookies.find((c) => c.startsWith(`${name}=`))?.split(';')[0] ?? '';

    itOnce(
      'forged X-Forwarded-For cannot lock a user out; a browser that signed in before gets in past every limit',
      async () => {
        const replica = await fleet.startReplica({
          BINFLEET_RUNNER: 'off',
          BINFLEET_LOGIN_LIMIT_PER_ACCOUNT: '8',
        });
        try {
          const owner = { username: 'locked-out', password: 'locked-out-password-1' };
          await addGuessedUser(owner, 'admin');
          secrets.set('lock-out target password', owner.password);
          const first = await loginFrom('127.0.0.20', owner, {}, replica.url);
          expect(first.status).toBe(200);
          const device = cookieOf(first.cookies, 'bf_device');
          expect(device).toMatch(/^bf_device=bfd_/);
          // The attacker names the owner's address in X-Forwarded-For: not believed (no trusted proxy).
          const forged = [];
          for (let i = 0; i < 12; i++)
            forged.push(
              (
                await loginFrom(
                  '127.0.0.21',
                  { ...owner, password: `forged-${i}` },
                  { 'x-forwarded-for': '127.0.0.20' },
                  replica.url,
                )
              ).status,
            );
          expect(forged).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
          expect((await loginFrom('127.0.0.20', owner, {}, replica.url)).status).toBe(200);
          // Spread over addresses, guesses reach the account's ceiling: locked for browsers it does not know...
          for (const local of ['127.0.0.22', '127.0.0.23'])
            for (let i = 0; i < 6; i++)
              await loginFrom(local, { ...owner, password: `spread-${i}` }, {}, replica.url);
          expect(await loginFrom('127.0.0.24', owner, {}, replica.url)).toMatchObject({
            status: 429,
            message: /many addresses.*browser you signed in with before/,
          });
          // ...but not for the owner's browser, from any address, while a stolen-looking cookie does not help.
          expect((await loginFrom('127.0.0.25', owner, { cookie: device }, replica.url)).status).toBe(200);
          const otherUsers = await loginFrom(
            '127.0.0.25',
            { username: VIEWER.username, password: 'wrong-password-x' },
            { cookie: device },
            replica.url,
          );
          expect(otherUsers.status).toBe(401);
          const forgedCookie = device.replace(/.{4}$/, 'AAAA');
          expect((await loginFrom('127.0.0.25', owner, { cookie: forgedCookie }, replica.url)).status).toBe(
            429,
          );
        } finally {
          await replica.stop();
        }
      },
    );

    it('counts unknown names per address before hashing, and writes one audit row per address and window for refusals', async () => {
      const replica = await fleet.startReplica({
        BINFLEET_RUNNER: 'off',
        BINFLEET_LOGIN_LIMIT_PER_CLIENT: '3',
        BINFLEET_LOGIN_WINDOW_MS: '3000',
      });
      try {
        const before = await db.auditEvent.count({ where: { subjects: { contains: '|from:127.0.0.30|' } } });
        const answers = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            loginFrom('127.0.0.30', { username: `nobody-${i}`, password: `guess-${i}` }, {}, replica.url),
          ),
        );
        const limited = answers.filter((a) => a.status === 429);
        expect(answers.filter((a) => a.status !== 401 && a.status !== 429)).toEqual([]);
        // 3 a window: 5 refused, or at least 2 should the burst straddle two windows.
        expect(limited.length).toBeGreaterThanOrEqual(2);
        expect(limited[0]!.message).toMatch(/from your address/);
        // Failures are one row each; the refused ones none each, but one per window once it is over.
        const rows = () =>
          db.auditEvent.findMany({
            where: { action: 'auth.login.refused', subjects: { contains: '|from:127.0.0.30|' } },
          });
        const refused = await until(
          'the refusals reported',
          async () => {
            const r = await rows();
            const total = r.reduce((n, row) => n + (row.params as { refused: number }).refused, 0);
            return total === limited.length && r;
          },
          30_000,
        );
        expect(refused.length).toBeLessThanOrEqual(2);
        expect(new Set(refused.map((r) => (r.params as { from: string }).from)).size).toBe(refused.length);
        const after = await db.auditEvent.count({ where: { subjects: { contains: '|from:127.0.0.30|' } } });
        expect(after - before).toBe(8 - limited.length + refused.length);
      } finally {
        await replica.stop();
      }
    });

    it('a full hash queue answers 503 at once, with a message the login screen shows', async () => {
      const replica = await fleet.startReplica({
        BINFLEET_RUNNER: 'off',
        BINFLEET_LOGIN_HASH_CONCURRENCY: '1',
        BINFLEET_LOGIN_HASH_QUEUE: '0',
      });
      try {
        const answers = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            loginFrom(
              `127.0.1.${i + 1}`,
              { username: `flood-${i}`, password: `flood-${i}` },
              {},
              replica.url,
            ),
          ),
        );
        expect(answers.filter((a) => a.status !== 401 && a.status !== 503)).toEqual([]);
        expect(answers.filter((a) => a.status === 503).length).toBeGreaterThan(0);
        expect(answers.find((a) => a.status === 503)).toMatchObject({
          code: 'SERVICE_UNAVAILABLE',
          message: /too many sign-ins at once: try again in a few seconds/,
        });
      } finally {
        await replica.stop();
      }
    });

    it('setup on an installed server is refused before any hashing', async () => {
      const r = await new ApiClient(server.url).mutation('auth.setup', {
        username: 'mallory',
        password: 'mallory-password-1',
      });
      expect(r).toMatchObject({ status: 403, error: { message: /already set up/ } });
    });
  });

  describe('SSRF: registries at link-local and metadata addresses', () => {
    const CORPUS = [
      'http://169.254.169.254',
      'http://[fe80::1]:5000',
      'http://[::ffff:169.254.169.254]',
      'http://0xa9fea9fe',
      'http://2852039166',
      'http://[fd00:ec2::254]',
      'http://100.100.100.200',
      'http://0.0.0.0:5000',
    ];

    it.each(CORPUS)('%s: a sync refuses it before connecting; viewers see why, nothing more', async (url) => {
      const registry = await admin.ok(admin.mutation<{ id: string }>('registries.create', { url }));
      try {
        const repository = await admin.ok(
          admin.mutation<{ id: string }>('registries.addRepository', {
            registryId: registry.id,
            name: 'probe/ssrf',
          }),
        );
        const sync = await operator.mutation('catalogue.sync', { repositoryId: repository.id });
        expect(sync).toMatchObject({
          status: 502,
          error: {
            message: expect.stringMatching(
              /was not called: .*link-local or cloud metadata address: never called/,
            ),
          },
        });
        const stored = await db.repository.findUniqueOrThrow({ where: { id: repository.id } });
        expect(stored.lastSyncError).toMatch(/^The registry \S+ was not called: /);
      } finally {
        await admin.ok(admin.mutation('registries.remove', { id: registry.id }));
      }
    });
  });

  describe('request limits', () => {
    const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(
          `${server.url}${path}`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-binfleet-csrf': 'x', ...headers },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on('error', (error: NodeJS.ErrnoException) =>
          // The server may answer and close before the whole body is sent.
          error.code === 'EPIPE' || error.code === 'ECONNRESET'
            ? resolve({ status: 0, text: '' })
            : reject(error),
        );
        req.end(body);
      });
    const login = JSON.stringify(superjson.serialize({ username: 'admin', password: 'wrong-password-1' }));

    it('refuses sign-ins (and joins, heartbeats, setup) in a batch, and batches over 20 calls', async () => {
      const batch = JSON.stringify({ 0: JSON.parse(login), 1: JSON.parse(login) });
      const r = await post('/api/trpc/auth.login,auth.login?batch=1', batch);
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/auth.login must be sent alone/);
      const many = Array.from({ length: 21 }, () => 'auth.me').join(',');
      const res = await fetch(`${server.url}/api/trpc/${many}?batch=1&input={}`);
      expect(res.status).toBe(400);
      const fine = await fetch(`${server.url}/api/trpc/auth.me,auth.me?batch=1&input={}`);
      expect(fine.status).toBe(200);
    });

    it('refuses bodies over 1 MiB, and bodies without a length, before reading them', async () => {
      const big = await post('/api/trpc/auth.login', Buffer.alloc(2 * 1024 * 1024, 0x20));
      expect([413, 0]).toContain(big.status);
      const chunked = await post('/api/trpc/auth.login', login, { 'transfer-encoding': 'chunked' });
      expect(chunked.status).toBe(411);
    });
  });

  describe('injection through every web input that reaches an agent', () => {
    const policy = (over: Record<string, unknown>) => ({
      groupName: null,
      targets: ['s390x'],
      flags: 'F',
      interpreterDir: '/usr/bin',
      suffix: '-static',
      autoHeal: true,
      ...over,
    });
    const jobOf = (params: Record<string, unknown>) => ({ params, selection: { all: true } });

    it.each(INJECTIONS.map((i) => [i.attack, i] as const))(
      '%s: refused with a message; no policy, job or build; the kernel is unchanged',
      async (_attack, i) => {
        const before = await state();
        const kernelBefore = kernel();
        const build = {
          hostId: ids.hostId,
          repositoryId: ids.repositoryId,
          packagePath: '/srv/packages/qemu.deb',
        };
        const probes: [string, string, unknown][] = [
          ['policy.set', 'interpreterDir', policy({ interpreterDir: i.path })],
          ['policy.set', 'suffix', policy({ suffix: i.word })],
          ['policy.set', 'targets', policy({ targets: [i.arch] })],
          ['jobs.create', 'targets', jobOf({ kind: 'register', targets: [i.arch] })],
          ['jobs.create', 'targets', jobOf({ kind: 'reset-register', targets: [i.arch], persistent: true })],
          ['jobs.create', 'targets', jobOf({ kind: 'remove', targets: [i.arch] })],
          ['jobs.create', 'targets', jobOf({ kind: 'enable', targets: [i.arch] })],
          ['jobs.create', 'targets', jobOf({ kind: 'disable', targets: [i.arch] })],
          ['jobs.create', 'targets', jobOf({ kind: 'verify', targets: [i.arch] })],
          ['builds.start', 'targets', { ...build, targets: [i.arch] }],
          ...(i.inFilePaths
            ? ([
                ['builds.start', 'packagePath', { ...build, packagePath: i.path }],
                ['builds.start', 'busybox', { ...build, busybox: i.path }],
              ] as [string, string, unknown][])
            : []),
        ];
        for (const [path, field, input] of probes) {
          const r = await admin.mutation(path, input);
          expect({ path, field, status: r.status, code: r.error?.code }).toEqual({
            path,
            field,
            status: 400,
            code: 'BAD_REQUEST',
          });
          expect(r.error?.message).toBeTruthy();
        }
        expect(await state()).toEqual(before);
        expect(kernel()).toEqual(kernelBefore);
      },
    );

    it.each(FLAG_INJECTIONS.map((f) => [f.attack, f.flags] as const))(
      'policy flags: %s is refused with a message; no policy',
      async (_attack, flags) => {
        const before = await state();
        const r = await admin.mutation('policy.set', policy({ flags }));
        expect(r).toMatchObject({ status: 400, error: { message: /flag|Too big/ } });
        expect(await state()).toEqual(before);
      },
    );
  });

  describe('secrets', () => {
    it('never appear in server or agent logs, API responses, the audit log or the database file', async () => {
      // Exercise what handles secrets once more: a password change, a registry password change, a
      // sync that sends the registry credentials, a job the server runs with the agent's token.
      await admin.ok(
        admin.mutation('auth.updateUser', { id: ids.operatorId, password: 'operator-password-2' }),
      );
      secrets.set('changed operator password', 'operator-password-2');
      await admin.ok(
        admin.mutation('registries.update', { id: ids.registryId, password: `${REGISTRY_PASSWORD}-2` }),
      );
      secrets.set('changed registry password', `${REGISTRY_PASSWORD}-2`);
      await admin.mutation('catalogue.sync', { repositoryId: ids.repositoryId });
      const job = await admin.ok(
        admin.mutation<{ id: string }>('jobs.create', {
          params: { kind: 'verify', targets: ['s390x'] },
          selection: { hostIds: [ids.hostId] },
        }),
      );
      await finishedJob(admin, job.id);
      // A session cookie, read from a sign-in's Set-Cookie.
      const signIn = await realFetch(`${server.url}/api/trpc/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-binfleet-csrf': 'sign-in' },
        body: JSON.stringify(superjson.serialize(VIEWER)),
      });
      const cookie = /bf_session=([^;]+)/.exec(signIn.headers.getSetCookie().join('\n'))![1]!;
      secrets.set('session cookie', decodeURIComponent(cookie));
      await admin.ok(admin.query('audit.list', { limit: 200 }));

      const audit = JSON.stringify(await db.auditEvent.findMany());
      // The raw database files, on SQLite (PostgreSQL's are another process's).
      const dbFiles =
        dbName !== 'SQLite'
          ? ''
          : readdirSync(join(fleet.databaseUrl.replace(/^file:/, ''), '..'))
              .filter((f) => f.startsWith(fleet.databaseUrl.replace(/^file:.*\//, '')))
              .map((f) =>
                readFileSync(join(fleet.databaseUrl.replace(/^file:/, ''), '..', f)).toString('latin1'),
              )
              .join('\n');
      const places: [string, string, RegExp?][] = [
        ['server output', server.output()],
        ...[agent, ...retired].map(
          (a) =>
            ['agent log', `${a.logs.map((l) => JSON.stringify(l)).join('\n')}\n${a.stderr()}`] as [
              string,
              string,
            ],
        ),
        ['audit log', audit],
        ['database files', dbFiles],
        ...responses.map(
          ({ path, body }) =>
            [
              `response of ${path}`,
              body,
              // Each is handed out exactly once, in the answer that creates it.
              path === 'tokens.create'
                ? /^join token/
                : path === 'agentApi.join'
                  ? /^(agent token|heartbeat)/
                  : undefined,
            ] as [string, string, RegExp?],
        ),
      ];
      const leaks: string[] = [];
      for (const [place, text, allowed] of places) {
        for (const [what, secret] of secrets) {
          if (allowed?.test(what)) continue;
          if (text.includes(secret) || text.includes(encodeURIComponent(secret)))
            leaks.push(`${what} in ${place}`);
        }
      }
      expect(responses.length).toBeGreaterThan(200);
      expect(leaks).toEqual([]);
    });
  });
});

// Pages exist only under the web server (Next behind the gateway): headers, CSP nonces and cookies are probed there, from the
// outside, on every page route and API route the app has.
describe('security headers and cookies under the web server', () => {
  let fleet: Fleet;
  const PAGES = [
    '/',
    '/login',
    '/fleet',
    '/hosts/00000000-0000-7000-8000-000000000000',
    '/jobs',
    '/jobs/00000000-0000-7000-8000-000000000000',
    '/builds',
    '/builds/00000000-0000-7000-8000-000000000000',
    '/catalogue',
    '/policy',
    '/settings',
    '/audit',
    '/no-such-page',
  ];
  // The gateway (the API, agent routes) sets its own headers before Next: an answer, an error and a
  // refusal of tRPC, a method refused, agent routes; a path of no one's gets them from Next's proxy.ts.
  const API = [
    '/api/trpc/auth.me',
    '/api/trpc/fleet.hosts',
    `/api/trpc/${Array<string>(MAX_BATCH + 1)
      .fill('auth.me')
      .join(',')}?batch=1`,
    '/api/packages',
    '/agent/supported',
    '/agent/files/no-such-file',
    '/api/no-such-route',
  ];

  beforeAll(async () => {
    fleet = await startFleet({ name: 'security-next', database: 'sqlite', server: 'next', agents: 0 });
  }, 400_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  const expectSecurityHeaders = (res: Response) => {
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
  };

  it.each(PAGES)(
    'page %s: CSP with a fresh nonce on every script, no unsafe-inline or unsafe-eval',
    async (path) => {
      const pages = await Promise.all(
        [0, 1].map(async () => {
          const res = await fleet.api.raw(path, { redirect: 'manual' });
          expectSecurityHeaders(res);
          return { csp: res.headers.get('content-security-policy')!, html: await res.text() };
        }),
      );
      const nonces = pages.map(({ csp, html }) => {
        const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? '';
        expect(scriptSrc).not.toMatch(/unsafe-inline|unsafe-eval/);
        const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(scriptSrc)?.[1];
        expect(nonce).toBeDefined();
        const scripts = html.match(/<script\b[^>]*>/g) ?? [];
        expect(scripts.length).toBeGreaterThan(0);
        for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
        return nonce;
      });
      expect(nonces[0]).not.toBe(nonces[1]);
    },
  );

  it.each(API)('API route %s: the headers, and a policy that allows nothing', async (path) => {
    const res = await fleet.api.raw(path);
    expectSecurityHeaders(res);
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
  });

  it('refuses bodies over 1 MiB before any route reads them', async () => {
    const res = await fetch(`${fleet.url}/api/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) },
      body: Buffer.alloc(2 * 1024 * 1024, 0x20),
    }).catch(() => undefined);
    if (res) expect(res.status).toBe(413);
  });

  /** Sign-in over a connection from 127.0.0.1 with these headers: its Set-Cookie headers. */
  const signInCookies = async (url: string, headers: Record<string, string>) => {
    const res = await fetch(`${url}/api/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-binfleet-csrf': 'sign-in', ...headers },
      body: JSON.stringify(superjson.serialize(ADMIN)),
    });
    expect(res.status).toBe(200);
    return res.headers.getSetCookie();
  };

  it('cookies are Secure when a trusted proxy says the client used https, not when anyone else does', async () => {
    const forged = await signInCookies(fleet.url, { 'x-forwarded-proto': 'https' });
    expect(forged.length).toBe(2);
    for (const c of forged) expect(c).not.toMatch(/;\s*Secure/i);
    const replica = await fleet.startReplica({ BINFLEET_TRUSTED_PROXIES: '127.0.0.1' });
    try {
      const proxied = await signInCookies(replica.url, {
        'x-forwarded-proto': 'https',
        'x-forwarded-for': '198.51.100.77',
      });
      for (const c of proxied) expect(c).toMatch(/;\s*Secure/i);
      const row = await fleet.db.auditEvent.findFirst({
        where: { action: 'auth.login', subjects: { contains: '|from:198.51.100.77|' } },
      });
      expect(row).not.toBeNull();
    } finally {
      await replica.stop();
    }
  });

  it('data files are 0600 and data folders 0700: the SQLite database (with -wal, -shm), server key, packages', () => {
    const open: string[] = [];
    const walk = (path: string) => {
      const stat = statSync(path);
      if ((stat.mode & 0o077) !== 0) open.push(`${path} ${(stat.mode & 0o777).toString(8)}`);
      if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    };
    walk(fleet.dataDir);
    const dbFile = fleet.databaseUrl.replace(/^file:/, '');
    for (const file of [dbFile, `${dbFile}-wal`]) walk(file);
    expect(readdirSync(fleet.dataDir)).toContain('secret.key');
    expect(open).toEqual([]);
  });

  it('under the web server, X-Forwarded-For from an untrusted peer is not believed: the peer is counted', async () => {
    await signInCookies(fleet.url, { 'x-forwarded-for': '203.0.113.99' });
    const rows = await fleet.db.auditEvent.findMany({
      where: { action: 'auth.login', outcome: 'success' },
      orderBy: { at: 'desc' },
      take: 1,
    });
    expect(rows[0]?.subjects).toContain('|from:127.0.0.1|');
  });
});
