// Brings prisma/postgresql/ up to date with prisma/schema.prisma, the one schema written by hand:
//  1. the PostgreSQL schema is that one with the provider and client output swapped;
//  2. the real `prisma migrate dev`, against a throwaway PostgreSQL database where it first applies the
//     existing PostgreSQL migrations, writes (and applies) a migration for what they lack; it gets the
//     directory name of the newest SQLite migration, so both histories carry the same names;
//  3. the PostgreSQL client is generated again.
// Usage: pnpm db:migrations:sync (BINFLEET_PG_URL names the server; see docs/database.md).
import fs from 'node:fs';
import path from 'node:path';
import { postgresSchemaFrom } from '../src/postgres-schema.ts';
import { MIGRATIONS_DIRS, SCHEMA_FILES } from '../src/paths.ts';
import { runPrismaCli } from '../src/prisma-cli.ts';
import { createThrowawayPostgresDatabase } from '../src/testing.ts';

function migrationNames(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

fs.mkdirSync(path.dirname(SCHEMA_FILES.postgresql), { recursive: true });
fs.writeFileSync(SCHEMA_FILES.postgresql, postgresSchemaFrom(fs.readFileSync(SCHEMA_FILES.sqlite, 'utf8')));
console.log('wrote prisma/postgresql/schema.prisma');

const newest = migrationNames(MIGRATIONS_DIRS.sqlite).at(-1);
if (!newest)
  throw new Error('prisma/migrations has no migration yet: run pnpm db:migrate:dev --name init first');
const before = migrationNames(MIGRATIONS_DIRS.postgresql);
const database = await createThrowawayPostgresDatabase('binfleet_sync');
try {
  await runPrismaCli(['migrate', 'dev', '--name', newest.replace(/^\d+_/, '')], {
    databaseUrl: database.url,
  });
} finally {
  await database.drop();
}

const created = migrationNames(MIGRATIONS_DIRS.postgresql).filter((dir) => !before.includes(dir));
const [only] = created;
if (only === undefined) {
  console.log('PostgreSQL migrations already match the schema');
} else if (created.length === 1 && !before.includes(newest)) {
  fs.renameSync(path.join(MIGRATIONS_DIRS.postgresql, only), path.join(MIGRATIONS_DIRS.postgresql, newest));
  console.log(`created prisma/postgresql/migrations/${newest}`);
} else {
  for (const dir of created) fs.rmSync(path.join(MIGRATIONS_DIRS.postgresql, dir), { recursive: true });
  throw new Error(
    `prisma/schema.prisma has changes that no SQLite migration covers (PostgreSQL already has ${newest}): ` +
      'run pnpm db:migrate:dev --name <change> to create one for both providers',
  );
}
await runPrismaCli(['generate', '--schema', SCHEMA_FILES.postgresql]);
