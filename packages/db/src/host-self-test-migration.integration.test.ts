// The host_self_test migration on a database that has hosts: the SQL of every migration before it, rows
// written as an older control plane would, then its own SQL, as `prisma migrate deploy` runs them. It
// must keep every row and value (SQLite rebuilds the Host table), keep the indexes and the other
// tables' foreign keys to Host, put the JSON columns last on SQLite, and fill each host's outcome.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteFilePath, type DatabaseProvider } from './database-url.ts';
import { MIGRATIONS_DIRS } from './paths.ts';
import {
  createThrowawayPostgresDatabase,
  createThrowawaySqliteDatabase,
  type ThrowawayDatabase,
} from './testing.ts';

const MIGRATION = '20261205074500_host_self_test';

/** Runs SQL scripts and queries with positional parameters, on either database. */
interface Sql {
  script(sql: string): Promise<void>;
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

async function open(provider: DatabaseProvider, url: string): Promise<Sql> {
  if (provider === 'sqlite') {
    const db = new Database(sqliteFilePath(url));
    db.pragma('foreign_keys = ON');
    return {
      script: async (sql) => void db.exec(sql),
      query: async <T>(sql: string, params: unknown[] = []) => {
        const statement = db.prepare(sql.replace(/\$\d+/g, '?'));
        return (statement.reader ? statement.all(...params) : (statement.run(...params), [])) as T[];
      },
      close: async () => void db.close(),
    };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    script: async (sql) => void (await client.query(sql)),
    query: async <T>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as T[],
    close: () => client.end(),
  };
}

const migrations = (provider: DatabaseProvider) =>
  fs
    .readdirSync(MIGRATIONS_DIRS[provider], { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
const migrationSql = (provider: DatabaseProvider, name: string) =>
  fs.readFileSync(path.join(MIGRATIONS_DIRS[provider], name, 'migration.sql'), 'utf8');

// Hosts as an older control plane left them, with the outcome their results must give.
const HOSTS = [
  // The newest aarch64 probe failed after an older pass.
  {
    id: 'h-failed',
    results: [
      ['aarch64', 'probe', 'passed', 1],
      ['aarch64', 'probe', 'failed', 2],
    ],
    expected: 'failed',
  },
  // arm probe failed, then passed; another method's pass beside it.
  {
    id: 'h-passed',
    results: [
      ['arm', 'probe', 'failed', 1],
      ['arm', 'probe', 'passed', 3],
      ['arm', 'container', 'passed', 2],
    ],
    expected: 'passed',
  },
  // A newer skip does not hide the failure before it.
  {
    id: 'h-skip',
    results: [
      ['s390x', 'probe', 'failed', 1],
      ['s390x', 'probe', 'skipped', 2],
    ],
    expected: 'failed',
  },
  // Only skipped, or nothing at all: never tested.
  { id: 'h-skipped-only', results: [['riscv64', 'probe', 'skipped', 1]], expected: null },
  { id: 'h-none', results: [], expected: null },
  // Two results of the same instant: the failure counts.
  {
    id: 'h-tie',
    results: [
      ['ppc64le', 'probe', 'passed', 4],
      ['ppc64le', 'probe', 'failed', 4],
    ],
    expected: 'failed',
  },
] as const;

const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 12, 0, s)).toISOString().replace('Z', '+00:00');

describe.each(['sqlite', 'postgresql'] as const)('the host_self_test migration on %s', (provider) => {
  let database: ThrowawayDatabase;
  let sql: Sql;
  let before: Record<string, unknown>[];
  let indexesBefore: string[];
  /** Host's indexes with their definitions, as the database reports them. */
  const hostIndexes = async () =>
    (provider === 'sqlite'
      ? await sql.query<{ d: string }>(
          `SELECT "sql" AS "d" FROM "sqlite_master" WHERE "type" = 'index' AND "tbl_name" = 'Host' AND "sql" IS NOT NULL`,
        )
      : await sql.query<{ d: string }>(
          `SELECT "indexdef" AS "d" FROM "pg_indexes" WHERE "tablename" = 'Host'`,
        )
    )
      .map((r) => r.d)
      .sort();

  beforeAll(async () => {
    database =
      provider === 'sqlite'
        ? createThrowawaySqliteDatabase()
        : await createThrowawayPostgresDatabase('binfleet_self_test_migration');
    sql = await open(provider, database.url);
    const names = migrations(provider);
    expect(names).toContain(MIGRATION);
    for (const name of names.slice(0, names.indexOf(MIGRATION)))
      await sql.script(migrationSql(provider, name));

    const time = (s: number) => (provider === 'sqlite' ? at(s) : new Date(at(s)));
    for (const [i, h] of HOSTS.entries()) {
      await sql.query(
        `INSERT INTO "Host" ("id", "agentId", "hostname", "agentUrl", "agentTokenSealed", "heartbeatTokenHash",
           "arch", "facts", "entries", "entriesHash", "groupName", "lastSeenAt", "updatedAt")
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [
          h.id,
          `agent-${i}`,
          `host-${i}`,
          `http://127.0.0.1:${9000 + i}`,
          'sealed',
          `hash-${i}`,
          'x86_64',
          JSON.stringify({ agentVersion: '0.9.0', pad: 'x'.repeat(5000) }),
          JSON.stringify([{ name: 'qemu-aarch64', enabled: true, pad: 'y'.repeat(6000) }]),
          `sha-${i}`,
          i % 2 ? 'ci' : null,
          time(60),
          time(60),
        ],
      );
      await sql.query(
        `INSERT INTO "HostSnapshot" ("id", "hostId", "contentHash", "entries") VALUES ($1, $2, $3, $4)`,
        [`snap-${i}`, h.id, `sha-${i}`, '[]'],
      );
      for (const [j, [target, method, status, s]] of h.results.entries())
        await sql.query(
          `INSERT INTO "VerifyResult" ("id", "hostId", "target", "method", "status", "output", "durationMs", "at")
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [`${h.id}-${j}`, h.id, target, method, status, status, 10, time(s)],
        );
    }
    before = await sql.query(`SELECT * FROM "Host" ORDER BY "id"`);
    indexesBefore = await hostIndexes();

    await sql.script(migrationSql(provider, MIGRATION));
  }, 120_000);

  afterAll(async () => {
    await sql?.close();
    await database?.drop();
  });

  it('keeps every host and value, and fills each outcome from its newest results', async () => {
    const after = await sql.query<Record<string, unknown>>(`SELECT * FROM "Host" ORDER BY "id"`);
    expect(after.map(({ selfTest: _, ...rest }) => rest)).toEqual(before);
    const outcomes = Object.fromEntries(after.map((h) => [h.id, h.selfTest]));
    expect(outcomes).toEqual(Object.fromEntries(HOSTS.map((h) => [h.id, h.expected])));
  });

  it('keeps the unique indexes and the foreign keys of the tables that point at hosts', async () => {
    expect(indexesBefore.length).toBeGreaterThan(5);
    expect(await hostIndexes()).toEqual(indexesBefore);
    if (provider === 'sqlite') expect(await sql.query(`PRAGMA foreign_key_check`)).toEqual([]);
    await expect(
      sql.query(
        `INSERT INTO "Host" ("id", "agentId", "hostname", "agentUrl", "agentTokenSealed", "heartbeatTokenHash", "updatedAt")
         VALUES ('dup', 'agent-0', 'dup', '', 'x', 'hash-dup', $1)`,
        [provider === 'sqlite' ? at(0) : new Date(at(0))],
      ),
    ).rejects.toThrow(/unique/i);
    await expect(
      sql.query(
        `INSERT INTO "VerifyResult" ("id", "hostId", "target", "method", "status", "output", "durationMs")
         VALUES ('orphan', 'no-such-host', 'arm', 'probe', 'passed', '', 1)`,
      ),
    ).rejects.toThrow(/foreign key/i);
    await sql.query(`DELETE FROM "Host" WHERE "id" = 'h-failed'`);
    expect(await sql.query(`SELECT "id" FROM "VerifyResult" WHERE "hostId" = 'h-failed'`)).toEqual([]);
    expect(await sql.query(`SELECT "id" FROM "HostSnapshot" WHERE "hostId" = 'h-failed'`)).toEqual([]);
  });

  it.runIf(provider === 'sqlite')('puts the JSON columns last in the rebuilt SQLite table', async () => {
    const columns = await sql.query<{ name: string }>(`PRAGMA table_info("Host")`);
    expect(columns.slice(-2).map((c) => c.name)).toEqual(['facts', 'entries']);
    expect(columns.map((c) => c.name)).toContain('selfTest');
  });
});
