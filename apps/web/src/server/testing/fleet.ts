import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { eachWithConcurrency } from '@binfleet/concurrency';
import { createDb, migrateDeploy, type Db } from '@binfleet/db';
import { createThrowawayPostgresDatabase, type ThrowawayDatabase } from '@binfleet/db/testing';
import {
  AGENT_BUILD_INPUTS,
  AGENT_DIST,
  freePort,
  isStale,
  REPO,
  startAgent,
  startSandbox,
  WEB_BUILD_INPUTS,
  type AgentProcess,
  type Sandbox,
} from '@binfleet/test-sandbox';
import { ApiClient } from './api-client.ts';
import { startControlPlaneProcess } from './control-plane-process.ts';

/**
 * A fleet on this machine for benches and tests: N real agents (the production bundle), each in its
 * own kernel binfmt_misc sandbox, joined to a real web server (the standalone API + job runner process,
 * or `next start`) on SQLite or PostgreSQL. Everything it started goes on stop(), and on SIGINT/SIGTERM.
 */
export interface FleetOptions {
  readonly agents: number;
  /** A database to use as it is; otherwise a new one, dropped on stop(). */
  readonly databaseUrl?: string;
  /** The kind of new database when no databaseUrl is given. Default 'sqlite'. */
  readonly database?: 'sqlite' | 'postgresql';
  /** Told to agents by the server. Default 15 s, the product's default. */
  readonly heartbeatIntervalMs?: number;
  /** 'standalone' (default): the API + job runner as one process; 'next': `next start`, built when stale. */
  readonly server?: 'next' | 'standalone';
  /** More server environment (BINFLEET_RUNNER_CONCURRENCY, ...). */
  readonly env?: Readonly<Record<string, string>>;
  /** Agents started at once. Default 10. */
  readonly startConcurrency?: number;
  readonly agentArgs?: readonly string[];
  /** Progress lines (e.g. console.log); silent by default. */
  readonly log?: (line: string) => void;
  /** Stop everything on SIGINT/SIGTERM and exit (benches). Default false. */
  readonly stopOnSignals?: boolean;
}

export interface FleetHost {
  readonly index: number;
  readonly hostId: string;
  readonly agent: AgentProcess;
  readonly sandbox: Sandbox;
  readonly stateDir: string;
}

export interface FleetServer {
  readonly kind: 'next' | 'standalone';
  readonly url: string;
  readonly pid: number;
  /** Every process of the server (next start may run its server in a child): for CPU figures. */
  pids(): number[];
  output(): string;
  stop(): Promise<void>;
}

export interface Fleet {
  readonly url: string;
  readonly admin: { readonly username: string; readonly password: string };
  /** Signed in as the admin. */
  readonly api: ApiClient;
  readonly hosts: readonly FleetHost[];
  readonly server: FleetServer;
  readonly db: Db;
  readonly databaseUrl: string;
  /** This fleet's temporary folder (server data, SQLite file, agent state). */
  readonly dir: string;
  /** Time from the first agent started to the last one joined. */
  readonly joinMs: number;
  /** Stops the server and starts it again on the same database and port, with more environment. */
  restartServer(env?: Readonly<Record<string, string>>): Promise<void>;
  /** Agents, sandboxes, server, database (when new) and folder. Idempotent. */
  stop(): Promise<void>;
}

const ADMIN = { username: 'admin', password: 'fleet-password-1' };
const WEB_DIR = join(REPO, 'apps/web');

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'binfleet-fleet-'));
  const sandboxes: Sandbox[] = [];
  const agents: AgentProcess[] = [];
  let throwaway: ThrowawayDatabase | undefined;
  let server: FleetServer | undefined;
  let db: Db | undefined;
  let stopping: Promise<void> | undefined;

  const stop = () =>
    (stopping ??= (async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await Promise.all(agents.map((a) => a.stop('SIGKILL').catch(() => undefined)));
      await Promise.all(sandboxes.map((s) => s.stop()));
      await server?.stop();
      await db?.$disconnect();
      await throwaway?.drop();
      rmSync(dir, { recursive: true, force: true });
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the fleet`);
    void stop().finally(() => process.exit(130));
  };
  if (options.stopOnSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  try {
    ensureAgentBundle(log);
    if (options.server === 'next') ensureWebBuild(log);
    if (!options.databaseUrl && options.database === 'postgresql')
      throwaway = await createThrowawayPostgresDatabase('binfleet_fleet');
    const databaseUrl = options.databaseUrl ?? throwaway?.url ?? `file:${join(dir, 'fleet.db')}`;
    await migrateDeploy(databaseUrl);
    db = createDb(databaseUrl);

    let serverEnv: Record<string, string> = {
      DATABASE_URL: databaseUrl,
      BINFLEET_DATA_DIR: join(dir, 'server'),
      BINFLEET_ADMIN_USERNAME: ADMIN.username,
      BINFLEET_ADMIN_PASSWORD: ADMIN.password,
      BINFLEET_INSECURE_COOKIES: '1',
      BINFLEET_HEARTBEAT_INTERVAL_MS: String(options.heartbeatIntervalMs ?? 15_000),
      BINFLEET_RUNNER_POLL_MS: '200',
      ...options.env,
    };
    const kind = options.server ?? 'standalone';
    server = await startServer(kind, serverEnv, 0);
    log(`${kind} server on ${server.url} (${databaseUrl.startsWith('file:') ? 'SQLite' : 'PostgreSQL'})`);
    const api = await ApiClient.signIn(server.url, ADMIN.username, ADMIN.password);
    const { token } = await api.ok(
      api.mutation<{ token: string }>('tokens.create', {
        label: 'fleet harness',
        expiresInHours: 2,
        maxUses: options.agents,
      }),
    );

    const started = Date.now();
    const hosts: FleetHost[] = [];
    const indexes = Array.from({ length: options.agents }, (_, index) => index);
    await eachWithConcurrency(indexes, options.startConcurrency ?? 10, async (index) => {
      const sandbox = await startSandbox();
      sandboxes.push(sandbox);
      const stateDir = mkdtempSync(join(dir, `agent-${index}-`));
      const agent = await startAgent(sandbox, {
        bin: AGENT_DIST,
        stateDir,
        args: [
          '--server',
          server!.url,
          '--join-token',
          token,
          '--reconcile-interval',
          '1h',
          ...(options.agentArgs ?? []),
        ],
        startTimeoutMs: 120_000,
      });
      agents.push(agent);
      const joined = await agent.waitForLog((l) => l.event === 'joined', 120_000);
      hosts[index] = { index, hostId: String(joined.hostId), agent, sandbox, stateDir };
      const joinedSoFar = hosts.filter(Boolean).length;
      if (joinedSoFar % 10 === 0 || joinedSoFar === options.agents)
        log(
          `${joinedSoFar}/${options.agents} agents joined (${((Date.now() - started) / 1000).toFixed(1)} s)`,
        );
    });
    const joinMs = Date.now() - started;
    const total = await db.host.count();
    if (total !== options.agents)
      throw new Error(`${options.agents} agents joined, the server lists ${total}`);

    return {
      get url() {
        return server!.url;
      },
      admin: ADMIN,
      api,
      hosts,
      get server() {
        return server!;
      },
      db,
      databaseUrl,
      dir,
      joinMs,
      async restartServer(env = {}) {
        const port = Number(new URL(server!.url).port);
        await server!.stop();
        serverEnv = { ...serverEnv, ...env };
        server = await startServer(kind, serverEnv, port);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startServer(
  kind: 'next' | 'standalone',
  env: Record<string, string>,
  port: number,
): Promise<FleetServer> {
  if (kind === 'standalone') {
    const p = await startControlPlaneProcess(env, port);
    return { kind, url: p.url, pid: p.pid, pids: () => [p.pid], output: p.output, stop: () => p.stop() };
  }
  return startNext(env, port || (await freePort()));
}

/** `next start` in its own process group, so that stopping it stops whatever it started. */
async function startNext(env: Record<string, string>, port: number): Promise<FleetServer> {
  const logFile = join(env.BINFLEET_DATA_DIR!, '..', `next-${port}-${Date.now()}.log`);
  const child = spawn(
    join(WEB_DIR, 'node_modules/.bin/next'),
    ['start', '--hostname', '127.0.0.1', '--port', String(port)],
    {
      cwd: WEB_DIR,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
      detached: true,
      stdio: ['ignore', openSync(logFile, 'w'), openSync(logFile, 'a')],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const output = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const server: FleetServer = {
    kind: 'next',
    url,
    pid: child.pid!,
    pids: () => processGroup(child.pid!),
    output,
    stop: () => stopGroup(child, exited),
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`next start exited with ${child.exitCode ?? child.signalCode}:\n${output()}`);
    const ok = await fetch(`${url}/api/trpc/auth.me`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`next start did not answer on ${url} within 90 s:\n${output()}`);
    }
    await sleep(250);
  }
}

async function stopGroup(child: ChildProcess, exited: Promise<void>): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      // already gone
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    signal('SIGTERM');
    if (!(await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]))) signal('SIGKILL');
    await exited;
  }
  // A child of the group may outlive the leader for a moment.
  for (let i = 0; i < 50 && processGroup(child.pid!).length > 0; i++) {
    signal('SIGKILL');
    await sleep(100);
  }
}

/** The live processes whose process group is `pgid`, from /proc/PID/stat. */
export function processGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const fields = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]!.split(' ');
      // After "pid (comm) ": state, ppid, pgrp.
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') pids.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** CPU time (user + system) these processes used so far, in ms (clock ticks are 10 ms on Linux). */
export function cpuMs(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      // utime and stime are fields 14 and 15 of stat, 12 and 13 after "pid (comm) ".
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited
    }
  }
  return ticks * 10;
}

function run(what: string, cmd: string, args: readonly string[], cwd: string, log: (l: string) => void) {
  const started = Date.now();
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${what} failed:\n${r.stdout}\n${r.stderr}`);
  log(`${what} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** The agents run as shipped: the bundle, rebuilt when a source it bundles changed. */
function ensureAgentBundle(log: (l: string) => void): void {
  if (!isStale(AGENT_DIST, AGENT_BUILD_INPUTS, REPO)) return;
  const agentDir = join(REPO, 'apps/agent');
  run('agent bundle', process.execPath, ['--import', 'tsx', 'scripts/build.ts'], agentDir, log);
}

/** A `next build` newer than every source it bundles is reused. */
function ensureWebBuild(log: (l: string) => void): void {
  if (!isStale(join(WEB_DIR, '.next/BUILD_ID'), WEB_BUILD_INPUTS, REPO)) return;
  run('next build', join(WEB_DIR, 'node_modules/.bin/next'), ['build'], WEB_DIR, log);
}
