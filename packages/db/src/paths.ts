import { createRequire } from 'node:module';
import path from 'node:path';
import type { DatabaseProvider } from './database-url.ts';
import { dbEnv, isCheckout } from './env.ts';

/**
 * The repository checkout this package runs from. Found by walking up from the working directory
 * to the folder holding prisma.config.ts, not from import.meta.url: inside a Next.js server bundle
 * that points into .next/, and bundlers treat `new URL(..., import.meta.url)` as an asset to copy.
 * BINFLEET_REPO_ROOT overrides it for a process started elsewhere.
 */
function findRepoRoot(): string {
  if (dbEnv.BINFLEET_REPO_ROOT) return dbEnv.BINFLEET_REPO_ROOT;
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (isCheckout(dir)) return dir;
    if (path.dirname(dir) === dir) {
      throw new Error(
        'Cannot find the binfleet checkout (prisma.config.ts) above the working directory: run from the repository or set BINFLEET_REPO_ROOT.',
      );
    }
  }
}

export const REPO_ROOT = findRepoRoot();
export const PRISMA_CONFIG = path.join(REPO_ROOT, 'prisma.config.ts');
export const SCHEMA_ENGINE_SHIM = path.join(REPO_ROOT, 'packages/db/engine/schema-engine-wasm.mjs');

/**
 * Resolves a dependency of this package from the checkout. Not `createRequire(import.meta.url)`:
 * bundlers follow that statically and try to pack the whole Prisma CLI into the server bundle.
 */
export const requireFromDb = createRequire(path.join(REPO_ROOT, 'packages/db/package.json'));

/**
 * One schema and one migrations folder per provider: prisma/schema.prisma (SQLite, written by hand) and
 * prisma/postgresql/schema.prisma (generated from it by `pnpm db:migrations:sync`). Here, not beside the
 * Prisma CLI's configuration: `prisma/config` loads ~650 ms of modules (effect, fast-check) that a
 * server checking for pending migrations at start has no use for.
 */
export const SCHEMA_FILES: Record<DatabaseProvider, string> = {
  sqlite: path.join(REPO_ROOT, 'prisma', 'schema.prisma'),
  postgresql: path.join(REPO_ROOT, 'prisma', 'postgresql', 'schema.prisma'),
};

export const MIGRATIONS_DIRS: Record<DatabaseProvider, string> = {
  sqlite: path.join(REPO_ROOT, 'prisma', 'migrations'),
  postgresql: path.join(REPO_ROOT, 'prisma', 'postgresql', 'migrations'),
};
