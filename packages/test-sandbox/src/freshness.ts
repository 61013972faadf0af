import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** What `next build` of apps/web bundles, relative to the repository: a build newer than all of it is reused. */
export const WEB_BUILD_INPUTS = [
  'apps/web/src',
  'apps/web/public',
  'apps/web/next.config.ts',
  'apps/web/package.json',
  'packages/agent-contract/src',
  'packages/arch-table/src',
  'packages/concurrency/src',
  'packages/db/src',
  'packages/deb/src',
  'packages/env/src',
  'pnpm-lock.yaml',
] as const;

/** What the agent's production bundle (`pnpm --filter @binfleet/agent build`) bundles, relative to the repository. */
export const AGENT_BUILD_INPUTS = [
  'apps/agent/src',
  'apps/agent/bin',
  'apps/agent/package.json',
  // The build itself, its snapshots' shims and the launcher it writes (dist/launcher).
  'apps/agent/scripts',
  'apps/agent/packaging/launcher.sh.in',
  'apps/agent/packaging/agent-tree.ts',
  'apps/agent/packaging/release-layout.ts',
  'packages/agent-contract/src',
  'packages/arch-table/src',
  'packages/concurrency/src',
  'packages/deb/src',
  'packages/env/src',
] as const;

/** The newest modification time under a path; tests are not part of a build. */
export function newestChange(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return /\.test\.tsx?$/.test(path) ? 0 : stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(path)) {
    if (name !== 'node_modules') newest = Math.max(newest, newestChange(join(path, name)));
  }
  return newest;
}

/** Whether `output` is missing or older than something under `inputs` (paths relative to `root`). */
export function isStale(output: string, inputs: readonly string[], root: string): boolean {
  if (!existsSync(output)) return true;
  return statSync(output).mtimeMs < Math.max(...inputs.map((p) => newestChange(join(root, p))));
}

/**
 * A TCP port free on 127.0.0.1 right now, below the kernel's ephemeral range
 * (/proc/sys/net/ipv4/ip_local_port_range): no outgoing connection of any process takes it as its own
 * port, so a server can stop and start again on it (a restart on the same port) while other tests'
 * processes connect all around. Other callers pick at random among ~12,000 ports and the port is
 * checked by listening on it; only two picks of the same port in the same moment could meet.
 */
export function freePort(): Promise<number> {
  const low = ephemeralLow();
  const from = Math.max(1024, low - 12_000);
  const tryPort = (attempt: number): Promise<number> =>
    new Promise<number>((resolvePort, reject) => {
      const port = low > from ? randomInt(from, low) : 0;
      // Never the same port twice to one process: its earlier caller may not have bound it yet.
      if (port !== 0 && handedOut.has(port) && attempt < 50) return resolvePort(tryPort(attempt + 1));
      const probe = createServer();
      probe.once('error', (error: NodeJS.ErrnoException) =>
        error.code === 'EADDRINUSE' && attempt < 50 ? resolvePort(tryPort(attempt + 1)) : reject(error),
      );
      probe.listen(port, '127.0.0.1', () => {
        const { port: bound } = probe.address() as { port: number };
        handedOut.add(bound);
        probe.close(() => resolvePort(bound));
      });
    });
  return tryPort(0);
}

const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range (Linux's default 32768 when it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * Runs `build` when `output` is stale (isStale), under the build lock `name` (underBuildLock), the
 * freshness checked once the lock is held: a process that waited finds what the other one built.
 */
export function buildWhenStale(
  root: string,
  name: string,
  output: string,
  inputs: readonly string[],
  build: () => void,
): void {
  underBuildLock(root, name, () => {
    if (isStale(output, inputs, root)) build();
  });
}

/** The longest a test process waits for another one's build (agent:package may take minutes). */
const BUILD_LOCK_WAIT_MS = 20 * 60_000;

/** Names this process holds (underBuildLock is not reentrant: a nested call would wait for itself). */
const held = new Set<string>();

/**
 * Runs `build` (which checks freshness itself, and builds only what is stale) while no other test
 * process of this checkout runs one of the same `name`: integration files run two at a time, and two
 * of them building the same output at once would write over each other. The second waits, then finds
 * the output fresh.
 *
 * The lock is a directory in the checkout (node_modules/.cache, owned by whoever builds there) holding
 * its holder's pid. It appears whole: made under a name of this process's own and renamed into place,
 * which fails while another one is there. A holder that died without removing it (killed) is noticed,
 * and its lock taken over by moving it aside first and checking that what moved is that dead
 * holder's, so that two waiters cannot both take it.
 */
export function underBuildLock<T>(root: string, name: string, build: () => T): T {
  if (held.has(name))
    throw new Error(`underBuildLock(${name}) called again while held: it would wait for itself`);
  const locks = join(root, 'node_modules/.cache/binfleet-build-locks');
  const dir = join(locks, name);
  mkdirSync(locks, { recursive: true });
  const deadline = Date.now() + BUILD_LOCK_WAIT_MS;
  for (;;) {
    const mine = `${dir}.${process.pid}`;
    rmSync(mine, { recursive: true, force: true });
    mkdirSync(mine);
    writeFileSync(join(mine, 'pid'), String(process.pid), { flag: 'wx' });
    try {
      renameSync(mine, dir);
      break;
    } catch (error) {
      rmSync(mine, { recursive: true, force: true });
      if (!['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
    const holder = pidIn(dir);
    if (holder !== undefined && !isRunning(holder)) takeOver(dir, holder);
    else if (Date.now() > deadline)
      throw new Error(
        `${name}: another test process (pid ${holder ?? 'unknown'}) has been building it for ${BUILD_LOCK_WAIT_MS / 60_000} minutes; if none is, remove ${dir}`,
      );
    else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
  held.add(name);
  try {
    return build();
  } finally {
    held.delete(name);
    // Moved aside first: removed in place, it would be empty for a moment, and a waiter's rename
    // into an empty directory succeeds.
    const done = `${dir}.done-${process.pid}`;
    renameSync(dir, done);
    rmSync(done, { recursive: true, force: true });
  }
}

/** Removes the lock of a dead holder, unless someone else has taken it over meanwhile (then it is put back). */
function takeOver(dir: string, dead: number): void {
  const aside = `${dir}.stale-${process.pid}`;
  try {
    renameSync(dir, aside);
  } catch {
    return; // gone already: taken over by someone else, or let go
  }
  if (pidIn(aside) === dead) rmSync(aside, { recursive: true, force: true });
  else renameSync(aside, dir);
}

function pidIn(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
