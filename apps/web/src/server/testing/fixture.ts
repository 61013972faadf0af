import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, migrateDeploy, type Db, type Role } from '@binfleet/db';
import { copyMigratedSqliteDatabase, createThrowawayPostgresDatabase } from '@binfleet/db/testing';

/**
 * What every control plane fixture shares (a fleet of real processes in fleet.ts, or a control
 * plane in the test's own process in in-process-control-plane.ts): a folder of its own, a throwaway
 * database, the first admin and more users, and one cleanup that undoes what was started.
 */
export type DatabaseKind = 'sqlite' | 'postgresql';

/** For describe.each: the name the test titles show, and the kind of database. */
export const DATABASES = [
  ['SQLite', 'sqlite'],
  ['PostgreSQL', 'postgresql'],
] as const satisfies readonly (readonly [string, DatabaseKind])[];

export interface TestUser {
  readonly username: string;
  readonly password: string;
}

export interface TestUserWithRole extends TestUser {
  readonly role: Role;
}

/** The first admin of every fixture (BINFLEET_ADMIN_* for a server process, auth.setup in process). */
export const TEST_ADMIN: TestUser = { username: 'admin', password: 'admin-password-1' };

export interface FixtureOptions {
  /** Names the folder (binfleet-NAME-...) and a new PostgreSQL database (binfleet_NAME_...). Default 'fleet'. */
  readonly name?: string;
  /** The kind of new database when no databaseUrl is given. Default 'sqlite'. */
  readonly database?: DatabaseKind;
  /** A database to use as it is (migrated, never dropped); otherwise a new one, dropped on stop(). */
  readonly databaseUrl?: string;
  /** Created by the admin once the control plane runs. */
  readonly users?: readonly TestUserWithRole[];
}

/**
 * Steps that undo what a fixture started, run in the reverse order by run(): every step, even when
 * one fails (the first failure is thrown once all ran), so a setup that failed halfway leaves nothing.
 * run() is idempotent.
 */
export class Cleanup {
  private readonly steps: (() => unknown)[] = [];
  private running: Promise<void> | undefined;

  add(step: () => unknown): void {
    this.steps.push(step);
  }

  run(): Promise<void> {
    return (this.running ??= (async () => {
      const failures: unknown[] = [];
      for (const step of [...this.steps].reverse()) {
        try {
          await step();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures[0];
    })());
  }
}

export interface FixtureBase {
  readonly dir: string;
  /** BINFLEET_DATA_DIR of the control plane (its secret key, uploaded packages). */
  readonly dataDir: string;
  readonly databaseUrl: string;
  /** A client of the test's own on the database. */
  readonly db: Db;
}

/**
 * The folder and the migrated database, their removal added to `cleanup` as they are made (a new
 * SQLite database is a file in the folder).
 */
export async function prepareFixture(options: FixtureOptions, cleanup: Cleanup): Promise<FixtureBase> {
  const name = options.name ?? 'fleet';
  const dir = mkdtempSync(join(tmpdir(), `binfleet-${name}-`));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'server');
  mkdirSync(dataDir);
  let databaseUrl = options.databaseUrl ?? `file:${join(dir, `${name}.db`)}`;
  if (options.databaseUrl) {
    await migrateDeploy(databaseUrl);
  } else if (options.database === 'postgresql') {
    // New databases are copies of a migrated template (the migration tests run prisma migrate itself).
    const prefix = `binfleet_${name.replaceAll('-', '_')}`;
    const throwaway = await createThrowawayPostgresDatabase(prefix, undefined, { migrated: true });
    cleanup.add(() => throwaway.drop());
    databaseUrl = throwaway.url;
  } else {
    await copyMigratedSqliteDatabase(join(dir, `${name}.db`));
  }
  const db = createDb(databaseUrl);
  cleanup.add(() => db.$disconnect());
  return { dir, dataDir, databaseUrl, db };
}
