import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ensureAgentRelease,
  freePort,
  buildWhenStale,
  startTestNetwork,
  WEB_BUILD_INPUTS,
  type TestNetworkDescription,
} from '@binfleet/test-sandbox';
import { assertLocalDatabase } from './local-database.ts';
import { OUTPUT_DIR, REPO } from './paths.ts';

const WEB_DIR = join(REPO, 'apps/web');
const NEXT_BIN = join(WEB_DIR, 'node_modules/.bin/next');
/** The web server (scripts/serve.ts): the API answered before Next, pages by Next. */
const TSX_BIN = join(WEB_DIR, 'node_modules/.bin/tsx');

/** What global setup hands to the test workers, through their environment. */
export interface StackInfo {
  /** The web app (scripts/serve.ts) as the browser and the agents on this machine reach it, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  /**
   * Where hosts in network namespaces reach it: the gateway of a test network, e.g.
   * http://10.254.7.1:40123 (its BINFLEET_PUBLIC_URL, so install lines name it).
   */
  readonly publicUrl: string;
  /** That network, for tests that add hosts of their own (joinTestNetwork). */
  readonly network: TestNetworkDescription;
  /** A temporary folder for this run: database, server data, agent state; removed at the end. */
  readonly dir: string;
  /** The server's database and data folder (its secret key), for scripts that fill it (seed-fleet.ts). */
  readonly databaseUrl: string;
  readonly dataDir: string;
}

const STACK_ENV = 'BINFLEET_E2E_STACK';

export function stackInfo(): StackInfo {
  const raw = process.env[STACK_ENV];
  if (!raw)
    throw new Error('The e2e stack is not running: start the suite with `pnpm --filter @binfleet/e2e test`.');
  return JSON.parse(raw) as StackInfo;
}

/** Agents are started by the tests (with the token they read off the page); each writes its pid here. */
export const agentPidFile = (stack: StackInfo) => join(stack.dir, 'agent-pids');

/**
 * Builds the web app when sources changed since the last build, starts the web server (scripts/serve.ts) on a free port
 * with a throwaway database, and returns what stops it all again.
 */
export async function startStack(): Promise<() => Promise<void>> {
  // Another database may be given (an empty one: the suite starts with first-run setup), but only a
  // local one; by default a SQLite file in this run's folder.
  const givenUrl = process.env.BINFLEET_E2E_DATABASE_URL;
  if (givenUrl) assertLocalDatabase(givenUrl);
  mkdirSync(OUTPUT_DIR, { recursive: true });
  ensureWebBuild();
  const dir = mkdtempSync(join(tmpdir(), 'binfleet-e2e-'));
  const databaseUrl = givenUrl || `file:${join(dir, 'binfleet.db')}`;
  const dataDir = join(dir, 'server');

  // The agent release the control plane serves to hosts that install with the page's one line.
  ensureAgentRelease();
  const network = await startTestNetwork();
  const port = await freePort();
  // The browser stays on 127.0.0.1 (a secure context: clipboard tests need one); hosts on the test
  // network use the gateway's address, the public URL.
  const url = `http://127.0.0.1:${port}`;
  const publicUrl = `http://${network.gateway}:${port}`;
  const log = join(OUTPUT_DIR, 'web-server.log');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NEXT_TELEMETRY_DISABLED: '1',
    DATABASE_URL: databaseUrl,
    BINFLEET_DATA_DIR: dataDir,
    BINFLEET_INSECURE_COOKIES: '1',
    BINFLEET_PUBLIC_URL: publicUrl,
    BINFLEET_HEARTBEAT_INTERVAL_MS: '1000',
    BINFLEET_RUNNER_POLL_MS: '200',
    // Shorter than the default 30 s, yet longer than a test keeps an agent frozen (SIGSTOP) to
    // watch a job in progress; a stopped agent refuses connections at once anyway.
    BINFLEET_AGENT_CALL_TIMEOUT_MS: '10000',
    BINFLEET_JOB_MAX_ATTEMPTS: '2',
  };
  // The first admin is created in the browser (first-run setup), not from the environment.
  delete env.BINFLEET_ADMIN_USERNAME;
  delete env.BINFLEET_ADMIN_PASSWORD;
  // Its own process group, so that stopping it also stops whatever it started.
  // On every address of this machine: loopback for the browser, the gateway for the test network.
  const server = spawn(TSX_BIN, ['scripts/serve.ts', '--hostname', '0.0.0.0', '--port', String(port)], {
    cwd: WEB_DIR,
    env,
    detached: true,
    stdio: ['ignore', openSync(log, 'w'), openSync(log, 'a')],
  });
  const info: StackInfo = { url, publicUrl, dir, databaseUrl, dataDir, network: network.description };
  process.env[STACK_ENV] = JSON.stringify(info);

  const stop = async () => {
    killLeftoverAgents(info);
    await stopProcessGroup(server);
    await network.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await untilAnswering(url, server, log);
  } catch (error) {
    await stop();
    throw error;
  }
  return stop;
}

/**
 * A `next build` newer than every source it bundles is reused: the suite then starts in seconds. Under
 * the same lock as the integration tests' (buildWhenStale), in case both run at once.
 */
function ensureWebBuild(): void {
  buildWhenStale(REPO, 'web-build', join(WEB_DIR, '.next/BUILD_ID'), WEB_BUILD_INPUTS, nextBuild);
}

function nextBuild(): void {
  const log = join(OUTPUT_DIR, 'next-build.log');
  const started = Date.now();
  const build = spawnSync(NEXT_BIN, ['build'], {
    cwd: WEB_DIR,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', openSync(log, 'w'), openSync(log, 'a')],
  });
  if (build.status !== 0) {
    const tail = readFileSync(log, 'utf8').split('\n').slice(-40).join('\n');
    throw new Error(`next build failed (full log: ${log}):\n${tail}`);
  }
  console.log(`[e2e] next build took ${((Date.now() - started) / 1000).toFixed(1)} s (log: ${log})`);
}

/** Ready once the API answers: the control plane (migrations, job runner) starts before Next listens. */
async function untilAnswering(url: string, server: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(
        `the web server exited with ${server.exitCode ?? server.signalCode}; see ${log}:\n${readFileSync(log, 'utf8')}`,
      );
    }
    const ok = await fetch(`${url}/api/trpc/auth.me`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(250);
  }
  throw new Error(`the web server did not answer on ${url} within 90 s; see ${log}`);
}

async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  if (!(await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]))) {
    signal('SIGKILL');
    await exited;
  }
}

/**
 * The worker stops its agents and sandboxes; should it have died first, the agents it started would
 * live on. A pid is only killed while its command line still names this run's folder.
 */
function killLeftoverAgents(stack: StackInfo): void {
  const file = agentPidFile(stack);
  if (!existsSync(file)) return;
  for (const pid of readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number)) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // exited
    }
    if (cmdline.includes(stack.dir)) process.kill(pid, 'SIGKILL');
  }
}
