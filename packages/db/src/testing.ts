// Throwaway databases for tests and scripts. PostgreSQL comes from BINFLEET_PG_URL (scripts/test-deps.sh
// starts the server and exports it), any database on that server; each test database is new and empty.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export const DEFAULT_TEST_PG_URL = 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';

export interface ThrowawayDatabase {
  url: string;
  drop(): Promise<void>;
}

export function testPostgresServerUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.BINFLEET_PG_URL || DEFAULT_TEST_PG_URL;
}

/** Creates an empty PostgreSQL database named `<prefix>_<random>` on the test server. */
export async function createThrowawayPostgresDatabase(
  prefix = 'binfleet_test',
  serverUrl = testPostgresServerUrl(),
): Promise<ThrowawayDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await onServer(serverUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
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

async function onServer(serverUrl: string, work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}
