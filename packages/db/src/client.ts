import fs from 'node:fs';
import path from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import Database from 'better-sqlite3';
import pg from 'pg';
import { keepPreparedStatements } from './sqlite-statements.ts';
import { databaseProvider, resolveDatabaseUrl, sqliteFilePath } from './database-url.ts';
import { PrismaClient as PostgresPrismaClient } from './generated/postgresql/client.ts';
import { Prisma, PrismaClient } from './generated/sqlite/client.ts';

/** How long a SQLite writer waits for another one before giving up with "database is locked". */
const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/**
 * How long an interactive transaction waits to start: on PostgreSQL, for a connection of the pool
 * (10), which a busy dashboard can hold for seconds (50 sessions on the fleet page kept it busy
 * past Prisma's default of 2 s, and creating a job failed). On SQLite it waits for the adapter's
 * one connection.
 */
export const TRANSACTION_MAX_WAIT_MS = 10_000;

/**
 * SQLite's page cache for the one connection, in KiB. Host rows carry their facts and entries as JSON
 * (kilobytes each, on overflow pages), so a scan of every host's small columns walks pages the default
 * 2 MiB cache no longer holds at 1,000 hosts (~23 MB): the fleet page's host scans went from ~16 ms
 * to ~2 ms with the file's pages kept. Memory is taken only as pages are read.
 */
export const SQLITE_CACHE_KIB = 64 * 1024;

/** The better-sqlite3 adapter, with the page cache set on the connection it opens and its statements kept. */
class SqliteAdapterFactory extends PrismaBetterSqlite3 {
  override async connect() {
    const adapter = await super.connect();
    await adapter.executeScript(`PRAGMA cache_size = -${SQLITE_CACHE_KIB}`);
    keepPreparedStatements((adapter as unknown as { client: Database.Database }).client);
    return adapter;
  }
}

export class AuditLogAppendOnlyError extends Error {
  override name = 'AuditLogAppendOnlyError';
  constructor(operation: string) {
    super(`The audit log is append-only: auditEvent.${operation} is not allowed.`);
  }
}

const refuse = (operation: string) => () => {
  throw new AuditLogAppendOnlyError(operation);
};

const appendOnlyAuditLog = Prisma.defineExtension({
  name: 'append-only-audit-log',
  query: {
    auditEvent: {
      update: refuse('update'),
      updateMany: refuse('updateMany'),
      updateManyAndReturn: refuse('updateManyAndReturn'),
      upsert: refuse('upsert'),
      delete: refuse('delete'),
      deleteMany: refuse('deleteMany'),
    },
  },
});

/**
 * A Prisma client for `url`: better-sqlite3 for file:, pg for postgresql://. Both
 * providers' clients come from the same model, so one type serves both; code that must work on both
 * sticks to what both support (no `mode: 'insensitive'`, no native types).
 */
export function createDb(url: string) {
  const resolved = resolveDatabaseUrl(url);
  const client =
    databaseProvider(resolved) === 'sqlite'
      ? new PrismaClient({
          adapter: new SqliteAdapterFactory({
            url: prepareSqliteFile(resolved),
            timeout: SQLITE_BUSY_TIMEOUT_MS,
          }),
          transactionOptions: { maxWait: TRANSACTION_MAX_WAIT_MS },
        })
      : (new PostgresPrismaClient({
          adapter: postgresAdapter(resolved),
          transactionOptions: { maxWait: TRANSACTION_MAX_WAIT_MS },
        }) as unknown as PrismaClient);
  return client.$extends(appendOnlyAuditLog);
}

export type Db = ReturnType<typeof createDb>;

/**
 * WAL lets the server's readers run while a job runner writes; it is a property of the file, so it is
 * set once here, before any connection of the adapter opens it. The file is its owner's alone (0600;
 * SQLite gives the -wal and -shm files the database file's mode), also when an older version or
 * another tool created it readable to others; a folder this creates is 0700.
 */
function prepareSqliteFile(url: string): string {
  const file = sqliteFilePath(url);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      fs.chmodSync(file + suffix, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return `file:${file}`;
}

/**
 * `?schema=name`: Prisma's own queries name the schema, and every connection of the pool starts with
 * it as its search path, so that the raw statements (a heartbeat's write, the fleet's counts) find
 * the same tables.
 */
function postgresAdapter(url: string): PrismaPg {
  const schema = new URL(url).searchParams.get('schema') ?? undefined;
  if (!schema) return new PrismaPg({ connectionString: url });
  // A startup option: spaces and backslashes escaped for the server's option parser.
  const searchPath = pg.escapeIdentifier(schema).replace(/[\\ ]/g, (c) => `\\${c}`);
  return new PrismaPg({ connectionString: url, options: `-c search_path=${searchPath}` }, { schema });
}
