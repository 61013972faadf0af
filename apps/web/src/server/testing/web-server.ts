import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, REPO } from '@binfleet/test-sandbox';
import { startControlPlaneProcess } from './control-plane-process.ts';

/**
 * The control plane as a real process: its API and job runner alone ('standalone'), or the web server
 * (scripts/serve.ts: the same gateway, then Next's pages and assets; 'next').
 */
export interface WebServer {
  readonly kind: 'next' | 'standalone';
  readonly url: string;
  readonly pid: number;
  /** Every process of the server (it may run children): for CPU figures. */
  pids(): number[];
  output(): string;
  /** SIGTERM by default; SIGKILL for a crash. Resolves once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export const WEB_DIR = join(REPO, 'apps/web');

/** A server on `port` (0: any free one) with this environment (DATABASE_URL, BINFLEET_*). */
export async function startWebServer(
  kind: 'next' | 'standalone',
  env: Readonly<Record<string, string>>,
  port: number,
  /** The address to listen on: a test network's gateway for hosts in namespaces. */
  hostname = '127.0.0.1',
  /** Node options for the standalone server (ignored by the web server). */
  nodeArgs: readonly string[] = [],
): Promise<WebServer> {
  // Port 0: a free one below the ephemeral range (freePort), which a restart on the same port finds
  // free again.
  const chosen = port || (await freePort());
  if (kind === 'standalone') {
    const p = await startControlPlaneProcess({ ...env }, chosen, hostname, nodeArgs);
    return { kind, url: p.url, pid: p.pid, pids: () => [p.pid], output: p.output, stop: (s) => p.stop(s) };
  }
  return startNext(env, chosen, hostname);
}

/** The web server (scripts/serve.ts) in its own process group, so that stopping it stops whatever it started. */
async function startNext(
  env: Readonly<Record<string, string>>,
  port: number,
  hostname: string,
): Promise<WebServer> {
  const logFile = join(env.BINFLEET_DATA_DIR!, '..', `next-${port}-${Date.now()}.log`);
  // With a certificate of its own, the control plane serves HTTPS (the test process must then trust
  // that certificate for its own requests).
  const tls = env.BINFLEET_TLS_CERT !== undefined;
  const args = ['scripts/serve.ts', '--hostname', hostname, '--port', String(port)];
  const child = spawn(join(WEB_DIR, 'node_modules/.bin/tsx'), args, {
    cwd: WEB_DIR,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', PORT: String(port), HOSTNAME: hostname, ...env },
    detached: true,
    stdio: ['ignore', openSync(logFile, 'w'), openSync(logFile, 'a')],
  });
  const url = `${tls ? 'https' : 'http'}://${hostname}:${port}`;
  const output = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const server: WebServer = {
    kind: 'next',
    url,
    pid: child.pid!,
    pids: () => processGroup(child.pid!),
    output,
    stop: (signal) => stopGroup(child, exited, signal),
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the web server exited with ${child.exitCode ?? child.signalCode}:\n${output()}`);
    const ok = await fetch(`${url}/api/trpc/auth.me`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`the web server did not answer on ${url} within 90 s:\n${output()}`);
    }
    await sleep(250);
  }
}

async function stopGroup(
  child: ChildProcess,
  exited: Promise<void>,
  first: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      // already gone
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    signal(first);
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
