import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { configuredDatabaseUrl, databaseProvider, resolveDatabaseUrl } from './database-url.ts';
import { MIGRATIONS_DIRS, requireFromDb, SCHEMA_ENGINE_SHIM, SCHEMA_FILES } from './paths.ts';

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
