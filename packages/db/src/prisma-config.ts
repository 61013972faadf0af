import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import {
  configuredDatabaseUrl,
  databaseProvider,
  resolveDatabaseUrl,
  type DatabaseProvider,
} from './database-url.ts';
import { REPO_ROOT, requireFromDb, SCHEMA_ENGINE_SHIM } from './paths.ts';

/**
 * One schema and one migrations folder per provider: prisma/schema.prisma (SQLite, written by hand) and
 * prisma/postgresql/schema.prisma (generated from it by `pnpm db:migrations:sync`).
 */
export const SCHEMA_FILES: Record<DatabaseProvider, string> = {
  sqlite: path.join(REPO_ROOT, 'prisma', 'schema.prisma'),
  postgresql: path.join(REPO_ROOT, 'prisma', 'postgresql', 'schema.prisma'),
};

export const MIGRATIONS_DIRS: Record<DatabaseProvider, string> = {
  sqlite: path.join(REPO_ROOT, 'prisma', 'migrations'),
  postgresql: path.join(REPO_ROOT, 'prisma', 'postgresql', 'migrations'),
};

/**
 * The Prisma CLI's configuration for the database `env` names (DATABASE_URL, SHADOW_DATABASE_URL):
 * its provider's schema and migrations.
 */
export function prismaConfig(env: NodeJS.ProcessEnv) {
  const url = resolveDatabaseUrl(configuredDatabaseUrl(env));
  const shadowDatabaseUrl = env.SHADOW_DATABASE_URL;
  const provider = databaseProvider(url);
  return defineConfig({
    schema: SCHEMA_FILES[provider],
    migrations: { path: MIGRATIONS_DIRS[provider] },
    datasource: { url, ...(shadowDatabaseUrl ? { shadowDatabaseUrl } : {}) },
  });
}

/**
 * The schema engine for the CLI when PRISMA_SCHEMA_ENGINE_BINARY names none: the native engine if
 * @prisma/engines has one (its download at install is disabled in pnpm-workspace.yaml, but it may have
 * been fetched since), else our shim over Prisma's WebAssembly engine.
 */
export function schemaEngineBinary(): string {
  const enginesDir = path.dirname(
    createRequire(requireFromDb.resolve('prisma/package.json')).resolve('@prisma/engines/package.json'),
  );
  const native = fs.readdirSync(enginesDir).find((name) => name.startsWith('schema-engine-'));
  return native ? path.join(enginesDir, native) : SCHEMA_ENGINE_SHIM;
}
