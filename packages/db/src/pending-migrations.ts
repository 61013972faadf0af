import fs from 'node:fs';
import type { Db } from './client.ts';
import { databaseProvider, resolveDatabaseUrl } from './database-url.ts';
import { MIGRATIONS_DIRS } from './paths.ts';

/**
 * Migrations in the checkout that the database has not applied. A server restarting on an
 * up-to-date database then skips `prisma migrate deploy`, which on SQLite needs the file to itself
 * and would fail while anything else has it open.
 */
export async function pendingMigrations(db: Db, url: string): Promise<string[]> {
  const dir = MIGRATIONS_DIRS[databaseProvider(resolveDatabaseUrl(url))];
  const inCheckout = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  let applied: string[];
  try {
    const rows = await db.$queryRawUnsafe<{ migration_name: string }[]>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    applied = rows.map((r) => r.migration_name);
  } catch {
    // No _prisma_migrations table yet: a new database, everything is pending.
    return inCheckout;
  }
  return inCheckout.filter((name) => !applied.includes(name));
}
