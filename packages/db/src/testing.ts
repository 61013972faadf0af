// Throwaway databases for tests and scripts. PostgreSQL comes from BINFLEET_PG_URL (scripts/test-deps.sh
// starts the server and exports it), any database on that server; each test database is new, empty or
// a copy of a migrated template (below).
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { DatabaseProvider } from './database-url.ts';
import { migrateDeploy } from './prisma-cli.ts';
import { MIGRATIONS_DIRS } from './paths.ts';

export const DEFAULT_TEST_PG_URL = 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';

export interface ThrowawayDatabase {
  url: string;
  drop(): Promise<void>;
}

export function testPostgresServerUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.BINFLEET_PG_URL || DEFAULT_TEST_PG_URL;
}

/**
 * Creates a PostgreSQL database named `<prefix>_<random>` on the test server: empty, or with `migrated`
 * a copy of a template that has every migration of the checkout applied (migrated templates, below).
 */
export async function createThrowawayPostgresDatabase(
  prefix = 'binfleet_test',
  serverUrl = testPostgresServerUrl(),
  options: { readonly migrated?: boolean } = {},
): Promise<ThrowawayDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const template = options.migrated ? await postgresTemplate(serverUrl) : undefined;
  await onServer(serverUrl, (client) =>
    client.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`),
  );
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      onServer(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
  };
}

/** A path for a SQLite database in a new temporary folder; the file itself does not exist yet. */
export function createThrowawaySqliteDatabase(): ThrowawayDatabase {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'binfleet-db-'));
  return {
    url: `file:${path.join(dir, 'test.db')}`,
    drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Makes `file` a SQLite database with every migration of the checkout applied: a copy of a template
 * that `prisma migrate deploy` made once for this set of migrations (migrated templates, below).
 */
export async function copyMigratedSqliteDatabase(file: string): Promise<void> {
  const template = path.join(os.tmpdir(), `binfleet-migrated-${migrationsHash('sqlite')}.db`);
  if (!fs.existsSync(template)) {
    const partial = `${template}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
    try {
      await migrateDeploy(`file:${partial}`);
      // Another run that made it at the same time made the same file: the last rename wins.
      fs.renameSync(partial, template);
    } finally {
      for (const leftover of [partial, `${partial}-journal`, `${partial}-wal`, `${partial}-shm`])
        fs.rmSync(leftover, { force: true });
    }
  }
  fs.copyFileSync(template, file);
}

/*
 * Migrated templates. `prisma migrate deploy` takes ~3 s of CPU per database (the Prisma CLI and its
 * schema engine start each time); a test suite makes over a hundred databases, and only the migration
 * tests need them made that way. A template is named after a hash of the provider's migration files, so
 * a new or changed migration makes a new one; servers started on a copy still check for pending
 * migrations themselves. Templates stay (a few hundred KB each): in the temporary folder for SQLite,
 * as binfleet_template_<hash> databases on the test server for PostgreSQL.
 */

/** sha256 (first 16 hex digits) of every file under the provider's migrations folder, with its path. */
function migrationsHash(provider: DatabaseProvider): string {
  const dir = MIGRATIONS_DIRS[provider];
  const hash = createHash('sha256');
  const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
  for (const file of files) {
    const full = path.join(dir, file);
    if (!fs.statSync(full).isFile()) continue;
    hash.update(`${file}\0`).update(fs.readFileSync(full)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** The name of the migrated template database on the server, made first when missing. */
async function postgresTemplate(serverUrl: string): Promise<string> {
  const template = `binfleet_template_${migrationsHash('postgresql')}`;
  let exists = false;
  await onServer(serverUrl, async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    exists = found.rowCount === 1;
  });
  if (exists) return template;
  const partial = await createThrowawayPostgresDatabase(`${template}_partial`, serverUrl);
  try {
    await migrateDeploy(partial.url);
    const partialName = new URL(partial.url).pathname.slice(1);
    // A run that made the same template at the same moment wins the rename; this one's is dropped.
    await onServer(serverUrl, (client) =>
      client.query(`ALTER DATABASE "${partialName}" RENAME TO "${template}"`).catch(() => undefined),
    );
  } finally {
    await partial.drop();
  }
  return template;
}

async function onServer(serverUrl: string, work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}
