import { existsSync, readdirSync, statSync } from 'node:fs';
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
