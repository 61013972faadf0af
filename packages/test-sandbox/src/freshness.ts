import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
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

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

/** The longest a test process waits for another one's build (agent:package may take minutes). */
const BUILD_LOCK_WAIT_MS = 20 * 60_000;

/**
 * Runs `build` (which checks freshness itself, and builds only what is stale) while no other test
 * process of this checkout runs one of the same `name`: integration files run two at a time, and two
 * of them building the same output at once would write over each other. The second waits, then finds
 * the output fresh. The lock is a directory (made atomically) naming its holder's pid; a holder that
 * died without removing it (killed) is noticed and its lock taken over.
 */
export function underBuildLock<T>(root: string, name: string, build: () => T): T {
  const checkout = createHash('sha256').update(root).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'binfleet-build-locks', `${checkout}-${name}`);
  mkdirSync(join(dir, '..'), { recursive: true });
  const deadline = Date.now() + BUILD_LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(dir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileOr(join(dir, 'pid')));
    if (holder > 0 && !isRunning(holder)) rmSync(dir, { recursive: true, force: true });
    else if (Date.now() > deadline)
      throw new Error(
        `${name}: another test process (pid ${holder || 'unknown'}) has been building it for ${BUILD_LOCK_WAIT_MS / 60_000} minutes; if none is, remove ${dir}`,
      );
    else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
  try {
    writeFileSync(join(dir, 'pid'), String(process.pid));
    return build();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readFileOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
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
