// Datasource URLs as the schema engine receives them, and what the shim does with databases outside
// Prisma's WebAssembly engine: existence checks, creation, SQLite reset. Error codes are Prisma's
// (P1000-P1003), so the CLI reacts as it does to the native engine (e.g. offers to create a database).
import fs from 'node:fs';
import path from 'node:path';
import { URL } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';

export class EngineError extends Error {
  /** @param {string} errorCode Prisma error code, e.g. P1003. @param {string} message */
  constructor(errorCode, message) {
    super(message);
    this.name = 'EngineError';
    this.code = errorCode;
  }
}

/**
 * @typedef {{ provider: 'sqlite', url: string, file: string }} SqliteDatasource
 * @typedef {{ provider: 'postgres', url: string, config: pg.PoolConfig, database: string, schema: string | undefined, server: string }} PostgresDatasource
 * @typedef {SqliteDatasource | PostgresDatasource} Datasource
 */

/**
 * @param {string} url
 * @param {string} baseDir relative SQLite paths are relative to this folder (the Prisma config's)
 * @returns {Datasource}
 */
export function parseDatasource(url, baseDir) {
  if (url.startsWith('file:')) {
    const location = url.slice('file:'.length).split('?')[0] ?? '';
    const file = location.startsWith('//') ? new URL(url).pathname : location;
    return { provider: 'sqlite', url, file: path.resolve(baseDir, file) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return parsePostgres(url);
  throw new EngineError(
    'P1013',
    `The database URL must start with file: or postgresql:// (got ${redact(url)}).`,
  );
}

/** @param {string} url @returns {PostgresDatasource} */
function parsePostgres(url) {
  const parsed = new URL(url);
  const params = parsed.searchParams;
  const database = decodeURIComponent(parsed.pathname.slice(1)) || 'postgres';
  const schema = params.get('schema') ?? undefined;
  const sslmode = params.get('sslmode');
  // A parsed config, never { connectionString }: adapter-pg spreads its config to reach other databases
  // (shadow, maintenance) and pg lets connectionString override the database name.
  /** @type {pg.PoolConfig} */
  const config = {
    host: params.get('host') ?? (decodeURIComponent(parsed.hostname) || 'localhost'),
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decodeURIComponent(parsed.username) || undefined,
    password: decodeURIComponent(parsed.password) || undefined,
    database,
    ssl:
      sslmode === 'require' || sslmode === 'verify-full'
        ? { rejectUnauthorized: sslmode === 'verify-full' }
        : undefined,
    options: schema ? `-c search_path="${schema.replaceAll('"', '""')}"` : undefined,
  };
  return { provider: 'postgres', url, config, database, schema, server: `${config.host}:${config.port}` };
}

/** @param {string} url */
export function redact(url) {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

/** The native engine's `cli can-connect-to-database`. @param {Datasource} ds */
export async function assertDatabaseExists(ds) {
  if (ds.provider === 'sqlite') {
    if (!fs.existsSync(ds.file)) {
      throw new EngineError(
        'P1003',
        `Database \`${path.basename(ds.file)}\` does not exist at \`${ds.file}\``,
      );
    }
    return;
  }
  await withClient(ds, ds.database, async () => {});
}

/** Creates the database; returns its name. @param {Datasource} ds */
export async function createDatabase(ds) {
  if (ds.provider === 'sqlite') {
    fs.mkdirSync(path.dirname(ds.file), { recursive: true });
    new Database(ds.file).close();
    return path.basename(ds.file);
  }
  await withMaintenanceClient(ds, (client) => client.query(`CREATE DATABASE ${quoteIdent(ds.database)}`));
  return ds.database;
}

/**
 * Empties a SQLite database through an open connection: deleting the file would leave the engine's own
 * connection writing into the deleted inode.
 * @param {import('better-sqlite3').Database} db
 */
export function resetSqlite(db) {
  const objects = /** @type {{ type: string, name: string }[]} */ (
    db
      .prepare(
        `SELECT type, name FROM sqlite_master WHERE type IN ('view', 'trigger', 'table') AND name NOT LIKE 'sqlite_%'`,
      )
      .all()
  );
  db.pragma('foreign_keys = OFF');
  try {
    for (const { type, name } of objects) db.exec(`DROP ${type.toUpperCase()} IF EXISTS ${quoteIdent(name)}`);
  } finally {
    db.pragma('foreign_keys = ON');
  }
  db.exec('VACUUM');
}

/**
 * Runs `work` on a maintenance database of the same server (postgres, else template1): CREATE and DROP
 * DATABASE cannot run inside the database they name.
 * @template T
 * @param {PostgresDatasource} ds
 * @param {(client: pg.Client) => Promise<T>} work
 */
export async function withMaintenanceClient(ds, work) {
  try {
    return await withClient(ds, 'postgres', work);
  } catch (error) {
    if (!(error instanceof EngineError && error.code === 'P1003')) throw error;
    return withClient(ds, 'template1', work);
  }
}

/**
 * @template T
 * @param {PostgresDatasource} ds
 * @param {string} database
 * @param {(client: pg.Client) => Promise<T>} work
 */
async function withClient(ds, database, work) {
  const client = new pg.Client({ ...ds.config, database, options: undefined });
  try {
    await client.connect();
  } catch (error) {
    throw connectionError(ds, database, /** @type {Error & { code?: string }} */ (error));
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** @param {PostgresDatasource} ds @param {string} database @param {Error & { code?: string }} error */
function connectionError(ds, database, error) {
  switch (error.code) {
    case '3D000':
      return new EngineError(
        'P1003',
        `Database \`${database}\` does not exist on the database server at \`${ds.server}\`.`,
      );
    case '28P01':
    case '28000':
      return new EngineError(
        'P1000',
        `Authentication failed against database server at \`${ds.server}\`: ${error.message}`,
      );
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
      return new EngineError('P1001', `Can't reach database server at \`${ds.server}\`: ${error.message}`);
    default:
      return error;
  }
}

/** @param {string} name */
export function quoteIdent(name) {
  return `"${name.replaceAll('"', '""')}"`;
}
