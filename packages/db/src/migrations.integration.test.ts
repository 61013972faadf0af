// The real Prisma CLI, offline, through prisma.config.ts and the WebAssembly schema engine shim.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from './client.ts';
import { databaseProvider, type DatabaseProvider } from './database-url.ts';
import { MIGRATIONS_DIRS, SCHEMA_ENGINE_SHIM, SCHEMA_FILES } from './paths.ts';
import { migrateDeploy, runPrismaCli } from './prisma-cli.ts';
import {
  createThrowawayPostgresDatabase,
  createThrowawaySqliteDatabase,
  testPostgresServerUrl,
  type ThrowawayDatabase,
} from './testing.ts';

const PROVIDERS: Record<DatabaseProvider, () => Promise<ThrowawayDatabase>> = {
  sqlite: async () => createThrowawaySqliteDatabase(),
  postgresql: () => createThrowawayPostgresDatabase('binfleet_migrate_test'),
};

function migrationNames(provider: DatabaseProvider): string[] {
  return fs
    .readdirSync(MIGRATIONS_DIRS[provider], { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

async function shadowDatabasesLeft(): Promise<string[]> {
  const client = new pg.Client({ connectionString: testPostgresServerUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'prisma_migrate_shadow_db_%'`,
    );
    return rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
}

describe('prisma version', () => {
  it('reports the WebAssembly shim as the schema engine', async () => {
    const { stdout } = await runPrismaCli(['version']);
    expect(stdout).toMatch(
      /Schema Engine\s*: schema-engine-cli [0-9a-f]{40} \(at packages\/db\/engine\/schema-engine-wasm\.mjs/,
    );
  });
});

describe.each(Object.keys(PROVIDERS) as DatabaseProvider[])(
  'prisma migrate on a fresh %s database',
  (provider) => {
    let database: ThrowawayDatabase;

    beforeAll(async () => {
      database = await PROVIDERS[provider]();
    });

    afterAll(async () => {
      await database?.drop();
    });

    it('deploy applies every migration, then status finds the schema up to date', async () => {
      expect(databaseProvider(database.url)).toBe(provider);
      const deploy = await migrateDeploy(database.url);
      for (const name of migrationNames(provider)) expect(deploy.stdout).toContain(name);
      expect(deploy.stdout).toContain('All migrations have been successfully applied.');

      const status = await runPrismaCli(['migrate', 'status'], { databaseUrl: database.url });
      expect(status.stdout).toContain('Database schema is up to date!');

      const again = await migrateDeploy(database.url);
      expect(again.stdout).toContain('No pending migrations to apply.');
    });

    it('diff finds the repository migrations produce exactly the schema, and prints SQL for a change', async () => {
      const covered = await runPrismaCli(
        [
          'migrate',
          'diff',
          '--from-migrations',
          MIGRATIONS_DIRS[provider],
          '--to-schema',
          SCHEMA_FILES[provider],
          '--exit-code',
        ],
        { databaseUrl: database.url },
      );
      expect(covered.stdout).toContain('No difference detected.');

      const script = await runPrismaCli(
        ['migrate', 'diff', '--from-empty', '--to-schema', SCHEMA_FILES[provider], '--script'],
        {
          databaseUrl: database.url,
        },
      );
      expect(script.stdout).toContain('CREATE TABLE "JobTarget"');
    });

    it('status on a database that is behind names the pending migrations and fails', async () => {
      const behind = await PROVIDERS[provider]();
      try {
        if (provider === 'sqlite') await createDb(behind.url).$disconnect();
        const status = runPrismaCli(['migrate', 'status'], { databaseUrl: behind.url });
        await expect(status).rejects.toMatchObject({
          exitCode: 1,
          // Prisma says "migration have" for one and "migrations have" for several.
          stdout: expect.stringMatching(/Following migrations? have not yet been applied:\n20\d+_init\n/),
        });
      } finally {
        await behind.drop();
      }
    });
  },
);

describe('prisma migrate deploy from replicas starting together', () => {
  it('applies each migration once on PostgreSQL', async () => {
    const database = await createThrowawayPostgresDatabase('binfleet_migrate_test');
    try {
      await Promise.all([
        migrateDeploy(database.url),
        migrateDeploy(database.url),
        migrateDeploy(database.url),
      ]);
      const db = createDb(database.url);
      try {
        const applied = await db.$queryRawUnsafe<{ migration_name: string }[]>(
          'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name',
        );
        expect(applied.map((row) => row.migration_name)).toEqual(migrationNames('postgresql'));
      } finally {
        await db.$disconnect();
      }
    } finally {
      await database.drop();
    }
  });
});

/**
 * A copy of this repository's schema and migrations for one provider in a temporary folder, with its
 * own prisma.config.ts: `migrate dev` writes migrations, and must not write them into the repository.
 */
function scratchPrismaProject(provider: DatabaseProvider, databaseUrl: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'binfleet-migrate-dev-'));
  const schema = fs
    .readFileSync(SCHEMA_FILES[provider], 'utf8')
    .replace(/output\s*=\s*"[^"]*"/, `output = ${JSON.stringify(path.join(dir, 'generated'))}`);
  fs.writeFileSync(path.join(dir, 'schema.prisma'), schema);
  fs.cpSync(MIGRATIONS_DIRS[provider], path.join(dir, 'migrations'), { recursive: true });
  const config = path.join(dir, 'prisma.config.ts');
  fs.writeFileSync(
    config,
    `process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= ${JSON.stringify(SCHEMA_ENGINE_SHIM)};\n` +
      `export default { schema: 'schema.prisma', migrations: { path: 'migrations' }, datasource: { url: ${JSON.stringify(databaseUrl)} } };\n`,
  );
  return {
    dir,
    cli: (args: string[]) => runPrismaCli([...args, '--config', config]),
    changeSchema: (edit: (text: string) => string) =>
      fs.writeFileSync(
        path.join(dir, 'schema.prisma'),
        edit(fs.readFileSync(path.join(dir, 'schema.prisma'), 'utf8')),
      ),
    migrations: () =>
      fs
        .readdirSync(path.join(dir, 'migrations'))
        .filter((name) => name !== 'migration_lock.toml')
        .sort(),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

describe.each(Object.keys(PROVIDERS) as DatabaseProvider[])('prisma migrate dev on %s', (provider) => {
  let database: ThrowawayDatabase;
  let project: ReturnType<typeof scratchPrismaProject>;

  beforeAll(async () => {
    database = await PROVIDERS[provider]();
    project = scratchPrismaProject(provider, database.url);
  });

  afterAll(async () => {
    project?.remove();
    await database?.drop();
  });

  it('creates a migration for a schema change, and none when nothing changed', async () => {
    const before = project.migrations();
    // A fresh database: the pending migrations are applied, nothing is created.
    const first = await project.cli(['migrate', 'dev', '--name', 'nothing-changed']);
    expect(first.stdout).toContain('Your database is now in sync with your schema.');
    expect(project.migrations()).toEqual(before);

    project.changeSchema((text) => text.replace('model Host {\n', 'model Host {\n  notes String?\n'));
    await project.cli(['migrate', 'dev', '--name', 'add-host-notes']);

    const added = project.migrations().filter((name) => !before.includes(name));
    expect(added).toEqual([expect.stringMatching(/^\d{14}_add_host_notes$/)]);
    const sql = fs.readFileSync(path.join(project.dir, 'migrations', added[0]!, 'migration.sql'), 'utf8');
    expect(sql).toMatch(/ALTER TABLE "Host" ADD COLUMN\s+"notes" TEXT/);

    const again = await project.cli(['migrate', 'dev', '--name', 'nothing-changed']);
    expect(again.stdout).toContain('Already in sync');
    expect(project.migrations()).toEqual([...before, ...added]);
    const status = await project.cli(['migrate', 'status']);
    expect(status.stdout).toContain('Database schema is up to date!');
    if (provider === 'postgresql') expect(await shadowDatabasesLeft()).toEqual([]);
  });

  it('reset empties the database and applies every migration again', async () => {
    const before = createDb(database.url);
    await before.user.create({ data: { username: 'someone', passwordHash: 'x' } });
    // On SQLite, migrations need the file to themselves.
    await before.$disconnect();

    await project.cli(['migrate', 'reset', '--force']);

    const db = createDb(database.url);
    try {
      expect(await db.user.count()).toBe(0);
      const applied = await db.$queryRawUnsafe<{ migration_name: string }[]>(
        'SELECT migration_name FROM _prisma_migrations ORDER BY migration_name',
      );
      expect(applied.map((row) => row.migration_name)).toEqual(project.migrations());
    } finally {
      await db.$disconnect();
    }
  });
});
