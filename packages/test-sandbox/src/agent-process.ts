import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { AGENT_BUILD_INPUTS, buildWhenStale, underBuildLock } from './freshness.ts';
import type { Sandbox } from './sandbox.ts';

export const REPO = resolve(import.meta.dirname, '../../..');
/**
 * The sources through tsx, as `pnpm exec binfleet-agent` runs them: about a second of CPU to start
 * (every module transformed and loaded one by one), five times the bundle's. Tests use agentBundle() for
 * the CLI and agentLauncher() for agents.
 */
export const AGENT_BIN = join(REPO, 'apps/agent/bin/binfleet-agent.js');
/** The production bundle (`pnpm --filter @binfleet/agent build`), as the image runs it. */
export const AGENT_DIST = join(REPO, 'apps/agent/dist/bin/binfleet-agent.cjs');
/**
 * The packages' launcher over that bundle, written by the same build (scripts/build.ts), as the
 * systemd unit runs the agent: `serve` starts from the agent's startup snapshot, kept in
 * AGENT_LAUNCHER_SNAPSHOTS (packaging/launcher.sh.in). Use agentLauncher().
 */
export const AGENT_LAUNCHER = join(REPO, 'apps/agent/dist/launcher/bin/binfleet-agent');
export const AGENT_LAUNCHER_SNAPSHOTS = join(REPO, 'apps/agent/dist/launcher/snapshots');

let bundleChecked = false;

/**
 * AGENT_DIST, built first when it is missing or older than a source it bundles (once per process:
 * a test run does not rebuild under its own agents), by one test process at a time (underBuildLock:
 * integration files run two at a time). Agents and CLI runs in tests use it: what users run, and it
 * starts in a fifth of the sources' time.
 */
export function agentBundle(log: (line: string) => void = () => undefined): string {
  if (bundleChecked) return AGENT_DIST;
  // The launcher is what the build writes last: a build that failed halfway is built again.
  buildWhenStale(REPO, 'agent-dist', AGENT_LAUNCHER, AGENT_BUILD_INPUTS, () => {
    const started = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], {
      cwd: join(REPO, 'apps/agent'),
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (r.status !== 0) throw new Error(`the agent bundle failed to build:\n${r.stdout}\n${r.stderr}`);
    log(`agent bundle took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  bundleChecked = true;
  return AGENT_DIST;
}

let launcherChecked = false;

/**
 * AGENT_LAUNCHER over agentBundle(), with the agent's startup snapshot for this node made already
 * (its first `serve` makes it, here a `serve --help`, under the bundle's lock): agents started
 * together then do not each make it. A launcher that could not make it fails the test run here
 * rather than every agent quietly running from the bundle.
 */
export function agentLauncher(log: (line: string) => void = () => undefined): string {
  agentBundle(log);
  if (launcherChecked) return AGENT_LAUNCHER;
  const r = underBuildLock(REPO, 'agent-dist', () =>
    spawnSync(AGENT_LAUNCHER, ['serve', '--help'], {
      env: { ...process.env, ...launcherEnv },
      encoding: 'utf8',
      timeout: 60_000,
    }),
  );
  const made = existsSync(AGENT_LAUNCHER_SNAPSHOTS) ? readdirSync(AGENT_LAUNCHER_SNAPSHOTS) : [];
  if (
    r.status !== 0 ||
    !made.some((f) => /^serve-snapshot-.*\.blob$/.test(f)) ||
    made.some((f) => /^serve-snapshot-.*\.failed$/.test(f))
  )
    throw new Error(
      `the agent's launcher made no startup snapshot in ${AGENT_LAUNCHER_SNAPSHOTS} (status ${r.status}):\n${r.stderr}`,
    );
  launcherChecked = true;
  return AGENT_LAUNCHER;
}

/**
 * What the launcher runs with: its snapshots, no NODE_OPTIONS (a test runner's would keep it from
 * them) and, as on a host, no NODE_PATH (pnpm's finds the workspace's modules from anywhere).
 */
const launcherEnv = {
  NODE_OPTIONS: '',
  NODE_PATH: '',
  BINFLEET_AGENT_SNAPSHOT_DIR: AGENT_LAUNCHER_SNAPSHOTS,
};

export type LogLine = Record<string, unknown> & { readonly event?: string };

/** A `binfleet-agent serve` process, as integration tests and benches drive it. */
export interface AgentProcess {
  /** Where it listens ('' for a dial-out agent, which listens on nothing). */
  readonly url: string;
  readonly pid: number;
  /** Every JSON line it logged so far. */
  readonly logs: readonly LogLine[];
  stderr(): string;
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with the exit code when it ends (null: ended by a signal). */
  readonly exited: Promise<number | null>;
  /** Sends the signal and resolves with the exit code once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartAgentOptions {
  readonly stateDir: string;
  /** A bundle or sources' bin (run by node) or a launcher (run as it is). Default agentLauncher(). */
  readonly bin?: string;
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly startTimeoutMs?: number;
}

/**
 * Starts the agent on a free port of 127.0.0.1 (a sandbox shares the network) and waits until it
 * listens. `null` instead of a sandbox runs it on the machine itself, with the machine's binfmt_misc.
 */
export async function startAgent(sandbox: Sandbox | null, options: StartAgentOptions): Promise<AgentProcess> {
  // A dial-out agent listens on nothing: it is started once it says it dials out.
  const dialOut = options.args?.includes('--dial-out') ?? false;
  const bin = options.bin ?? agentLauncher();
  const args = [
    'serve',
    ...(dialOut ? [] : ['--listen', '127.0.0.1:0']),
    '--state-dir',
    options.stateDir,
    ...(options.args ?? []),
  ];
  // A bundle (or the sources' bin) is a script node runs; a launcher runs as it is.
  const script = /\.[cm]?js$/.test(bin);
  const [command, commandArgs] = script ? ['node', [bin, ...args]] : [bin, args];
  const env = script ? options.env : { ...launcherEnv, ...options.env };
  const child = sandbox
    ? sandbox.spawn(command, commandArgs, { cwd: REPO, env: { ...env } as NodeJS.ProcessEnv })
    : spawn(command, commandArgs, { cwd: REPO, env: { ...process.env, ...env } });
  const logs: LogLine[] = [];
  const waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { event: 'unparsed', text };
    }
    logs.push(line);
    for (const waiter of waiters) if (waiter.match(line)) waiter.resolve(line);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLog = (match: (line: LogLine) => boolean, timeoutMs = 10_000) => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (line: LogLine) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(
            `agent did not log the expected line within ${timeoutMs} ms; logs:\n${describe(logs, stderr)}`,
          ),
        );
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  const listening = await Promise.race([
    waitForLog((l) => l.event === (dialOut ? 'dialing-out' : 'listening'), options.startTimeoutMs ?? 30_000),
    exited.then((code) => {
      throw new Error(`agent exited with ${code} before listening:\n${describe(logs, stderr)}`);
    }),
  ]);
  return {
    url: dialOut ? '' : String(listening.url),
    pid: child.pid!,
    logs,
    stderr: () => stderr,
    waitForLog,
    exited,
    stop: (signal = 'SIGTERM') => stopChild(child, signal, exited),
  };
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals, exited: Promise<number | null>) {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  return exited;
}

function describe(logs: readonly LogLine[], stderr: string): string {
  return [...logs.map((l) => JSON.stringify(l)), stderr].join('\n');
}

/** Every entry file of a sandbox's binfmt_misc with its text, and the global status: the kernel's whole state. */
export function kernelSnapshot(sandbox: Sandbox): Record<string, string> {
  const dir = sandbox.hostMountPoint;
  return Object.fromEntries(
    readdirSync(dir)
      .filter((name) => name !== 'register')
      .sort()
      .map((name) => [name, readFileSync(join(dir, name), 'utf8')]),
  );
}
