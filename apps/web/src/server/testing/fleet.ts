import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelEntry } from '@binfleet/arch-table';
import { eachWithConcurrency } from '@binfleet/concurrency';
import type { Db } from '@binfleet/db';
import {
  agentLauncher,
  freePort,
  startAgent,
  startSandbox,
  type AgentProcess,
  type Sandbox,
} from '@binfleet/test-sandbox';
import { ApiClient } from './api-client.ts';
import { Cleanup, prepareFixture, TEST_ADMIN, type FixtureOptions, type TestUser } from './fixture.ts';
import { ensureWebBuild } from './fresh-builds.ts';
import { kernelEntries } from './kernel-entries.ts';
import { until } from './waiting.ts';
import { startWebServer, type WebServer } from './web-server.ts';

export interface AgentRunOptions {
  /** Added to `serve`'s arguments after --server, --join-token and --reconcile-interval 1h (the last one wins). */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export interface FleetAgentOptions extends AgentRunOptions {
  /** false: on this machine itself, with its binfmt_misc and dockerd (a builder). Default true. */
  readonly sandbox?: boolean;
}

export interface FleetOptions extends FixtureOptions {
  readonly agents: number;
  /** Every agent's options; addAgent and restartAgent add theirs to them. */
  readonly agent?: FleetAgentOptions;
  /** Told to agents by the server. Default 15 s, the product's default. */
  readonly heartbeatIntervalMs?: number;
  /**
   * Agents listen on ports below the kernel's ephemeral range (freePort) instead of one the kernel
   * picks: for tests that restart agents on the same port (samePort), which an outgoing connection of
   * another process could otherwise take while the agent is down. Default false.
   */
  readonly stableAgentPorts?: boolean;
  /** 'standalone' (default): the API + job runner as one process; 'next': the web server
   * (scripts/serve.ts: the gateway, then Next's pages), built when stale. */
  readonly server?: 'next' | 'standalone';
  /** Node options for the standalone server's process, e.g. a bench's `--cpu-prof`. */
  readonly serverNodeArgs?: readonly string[];
  /** Where the server listens (default 127.0.0.1): a test network's gateway, for hosts on it. */
  readonly hostname?: string;
  /** More server environment (BINFLEET_RUNNER_CONCURRENCY, ...). */
  readonly env?: Readonly<Record<string, string>>;
  /** Agents started at once. Default 10. */
  readonly startConcurrency?: number;
  /** Progress lines (e.g. console.log); silent by default. */
  readonly log?: (line: string) => void;
  /** Stop everything on SIGINT/SIGTERM and exit (benches). Default false. */
  readonly stopOnSignals?: boolean;
}

/** Host i's hostname when its agent runs in a sandbox (sorted as the hosts are numbered). */
export const fleetHostname = (index: number) => `fleet-host-${String(index).padStart(4, '0')}`;

export interface FleetHost {
  readonly index: number;
  readonly hostId: string;
  readonly stateDir: string;
  /** The agent running now: restartAgent replaces it. */
  agent: AgentProcess;
  /** Where its kernel is (null: on this machine); a test that reboots the host gives it a new one. */
  sandbox: Sandbox | null;
}

export interface RestartAgentOptions extends AgentRunOptions {
  /** How the running agent is stopped. Default SIGTERM. */
  readonly signal?: NodeJS.Signals;
  /** Listen on the port it had, as a restarted service does; otherwise on a new free one. */
  readonly samePort?: boolean;
}

export interface Fleet {
  readonly url: string;
  readonly admin: TestUser;
  /** Signed in as the admin. */
  readonly api: ApiClient;
  readonly hosts: readonly FleetHost[];
  readonly server: WebServer;
  readonly db: Db;
  readonly databaseUrl: string;
  /** This fleet's temporary folder (server data, SQLite file, agent state). */
  readonly dir: string;
  /** The server's BINFLEET_DATA_DIR. */
  readonly dataDir: string;
  /** Time from the first agent started to the last one joined. */
  readonly joinMs: number;
  /** The fleet's join token (no use limit), created on the first call. */
  joinToken(): Promise<{ id: string; token: string }>;
  signIn(user: TestUser): Promise<ApiClient>;
  /** One more agent (host index hosts.length), joined with the fleet's token and online. */
  addAgent(options?: FleetAgentOptions): Promise<FleetHost>;
  /** Host i's agent stopped and started again with its state dir: it keeps its link, no join. */
  restartAgent(index: number, options?: RestartAgentOptions): Promise<AgentProcess>;
  /** Host i's kernel entries, read from its sandbox. */
  kernel(index: number): KernelEntry[];
  /** A host's kernel entries by its id (undefined: not in this fleet), as assertNoLostOrHangingRows takes them. */
  readonly kernelOf: (hostId: string) => KernelEntry[] | undefined;
  /** Stops the server (unless it is gone already) and starts it again on the same database and port, with more environment. */
  restartServer(env?: Readonly<Record<string, string>>): Promise<void>;
  /** Another server on the same database and data folder, with more environment; stop() stops it at the latest. */
  startReplica(env?: Readonly<Record<string, string>>): Promise<WebServer>;
  /** Agents, sandboxes, servers, database (when new) and folder. Idempotent. */
  stop(): Promise<void>;
}

/**
 * A fleet on this machine for integration tests and benches: a throwaway database (SQLite or
 * PostgreSQL), the control plane as a real process (its API + job runner, or the web server with Next's pages), a client
 * signed in as the admin, and N real agents, each in its own kernel binfmt_misc sandbox, joined and
 * online. stop() stops everything it started, also when the start failed halfway (and on
 * SIGINT/SIGTERM when asked).
 */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const log = options.log ?? (() => {});
  const cleanup = new Cleanup();
  const stop = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    return cleanup.run();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the fleet`);
    void stop().finally(() => process.exit(130));
  };
  if (options.stopOnSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  try {
    const kind = options.server ?? 'standalone';
    // The agents run as the systemd unit runs them: through the packages' launcher, from the agent's
    // startup snapshot (the bundle rebuilt first when a source it bundles changed).
    const agentBin = agentLauncher(log);
    if (kind === 'next') ensureWebBuild(log);
    const { dir, dataDir, databaseUrl, db } = await prepareFixture(options, cleanup);

    const servers: WebServer[] = [];
    cleanup.add(() => Promise.all(servers.map((s) => s.stop())));
    let serverEnv: Readonly<Record<string, string>> = {
      DATABASE_URL: databaseUrl,
      BINFLEET_DATA_DIR: dataDir,
      BINFLEET_ADMIN_USERNAME: TEST_ADMIN.username,
      BINFLEET_ADMIN_PASSWORD: TEST_ADMIN.password,
      BINFLEET_INSECURE_COOKIES: '1',
      BINFLEET_HEARTBEAT_INTERVAL_MS: String(options.heartbeatIntervalMs ?? 15_000),
      BINFLEET_RUNNER_POLL_MS: '200',
      ...options.env,
    };
    const startServer = async (env: Readonly<Record<string, string>>, port: number) => {
      const started = await startWebServer(kind, env, port, options.hostname, options.serverNodeArgs);
      servers.push(started);
      return started;
    };
    let server = await startServer(serverEnv, 0);
    log(`${kind} server on ${server.url} (${databaseUrl.startsWith('file:') ? 'SQLite' : 'PostgreSQL'})`);
    const api = await ApiClient.signIn(server.url, TEST_ADMIN.username, TEST_ADMIN.password);
    for (const user of options.users ?? []) await api.ok(api.mutation('auth.createUser', user));

    let token: Promise<{ id: string; token: string }> | undefined;
    const joinToken = () =>
      (token ??= api.ok(
        api.mutation<{ id: string; token: string }>('tokens.create', {
          label: 'test fleet',
          expiresInHours: 2,
          maxUses: null,
        }),
      ));

    // Every agent and sandbox started, also those a restart or a failed start left behind; a test
    // may give a host a new sandbox of its own.
    const hosts: FleetHost[] = [];
    const agents = new Set<AgentProcess>();
    const sandboxes = new Set<Sandbox>();
    cleanup.add(async () => {
      // On the machine, an agent gets to clean up what it started there; a sandbox goes with its own.
      const onMachine = new Set(hosts.filter((h) => !h.sandbox).map((h) => h.agent));
      await Promise.all(
        [...agents].map((a) => a.stop(onMachine.has(a) ? 'SIGTERM' : 'SIGKILL').catch(() => undefined)),
      );
      for (const h of hosts) if (h.sandbox) sandboxes.add(h.sandbox);
      await Promise.all([...sandboxes].map((s) => s.stop()));
    });

    const agentOptions = (more: FleetAgentOptions = {}) => ({
      args: [...(options.agent?.args ?? []), ...(more.args ?? [])],
      env: { ...options.agent?.env, ...more.env },
      sandbox: more.sandbox ?? options.agent?.sandbox ?? true,
    });
    const launch = async (
      sandbox: Sandbox | null,
      stateDir: string,
      args: readonly string[],
      env: Readonly<Record<string, string>>,
    ) => {
      const agent = await startAgent(sandbox, {
        bin: agentBin,
        stateDir,
        args: ['--reconcile-interval', '1h', ...args],
        // The web app's types make NODE_ENV required; the agent takes what it is given.
        env: env as NodeJS.ProcessEnv,
        startTimeoutMs: 120_000,
      });
      agents.add(agent);
      return agent;
    };
    const joinHost = async (index: number, more?: FleetAgentOptions) => {
      const o = agentOptions(more);
      // A hostname of its own (a UTS namespace): hostnames are unique in a fleet, and a second agent
      // reporting this machine's name would be refused at its join.
      const sandbox = o.sandbox ? await startSandbox({ hostname: fleetHostname(index) }) : null;
      if (sandbox) sandboxes.add(sandbox);
      const stateDir = mkdtempSync(join(dir, `agent-${index}-`));
      const { token } = await joinToken();
      // Before the test's own arguments: a --listen of its own wins.
      const listen = options.stableAgentPorts ? ['--listen', `127.0.0.1:${await freePort()}`] : [];
      const agent = await launch(
        sandbox,
        stateDir,
        ['--server', server.url, '--join-token', token, ...listen, ...o.args],
        o.env,
      );
      const joined = await agent.waitForLog((l) => l.event === 'joined', 120_000);
      const host: FleetHost = { index, hostId: String(joined.hostId), stateDir, agent, sandbox };
      hosts[index] = host;
      return host;
    };
    const online = (joined: readonly FleetHost[]) =>
      until(
        `${joined.length} host(s) online`,
        async () => {
          const ids = await api.ok(api.query<string[]>('fleet.hostIds', { filter: { online: true } }));
          return joined.every((h) => ids.includes(h.hostId));
        },
        120_000,
      );
    const sandboxOf = (index: number) => {
      const sandbox = hosts[index]!.sandbox;
      if (!sandbox) throw new Error(`host ${index}'s agent runs on this machine, not in a sandbox`);
      return sandbox;
    };

    const started = Date.now();
    const indexes = Array.from({ length: options.agents }, (_, index) => index);
    await eachWithConcurrency(indexes, options.startConcurrency ?? 10, async (index) => {
      await joinHost(index);
      const joinedSoFar = hosts.filter(Boolean).length;
      if (joinedSoFar % 10 === 0 || joinedSoFar === options.agents)
        log(
          `${joinedSoFar}/${options.agents} agents joined (${((Date.now() - started) / 1000).toFixed(1)} s)`,
        );
    });
    const joinMs = Date.now() - started;
    await online(hosts);

    return {
      get url() {
        return server.url;
      },
      admin: TEST_ADMIN,
      api,
      hosts,
      get server() {
        return server;
      },
      db,
      databaseUrl,
      dir,
      dataDir,
      joinMs,
      joinToken,
      signIn: (user) => ApiClient.signIn(server.url, user.username, user.password),
      async addAgent(more) {
        const host = await joinHost(hosts.length, more);
        await online([host]);
        return host;
      },
      async restartAgent(index, more = {}) {
        const host = hosts[index]!;
        await host.agent.stop(more.signal ?? 'SIGTERM');
        const o = agentOptions(more);
        const port = more.samePort ? ['--listen', new URL(host.agent.url).host] : [];
        host.agent = await launch(host.sandbox, host.stateDir, [...port, ...o.args], o.env);
        return host.agent;
      },
      kernel: (index) => kernelEntries(sandboxOf(index)),
      kernelOf: (hostId) => {
        const host = hosts.find((h) => h.hostId === hostId);
        return host && kernelEntries(sandboxOf(host.index));
      },
      async restartServer(env = {}) {
        const port = Number(new URL(server.url).port);
        await server.stop();
        serverEnv = { ...serverEnv, ...env };
        server = await startServer(serverEnv, port);
      },
      startReplica: (env = {}) => startServer({ ...serverEnv, ...env }, 0),
      stop,
    };
  } catch (error) {
    // What failed to start says why; a failure to stop what had started would hide it.
    await stop().catch(() => undefined);
    throw error;
  }
}
