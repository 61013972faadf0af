// Migration-aware driver adapter factories for Prisma's WebAssembly schema engine, with the fixes the
// engine needs from Prisma's own adapters (each one seen failing without it).
import { randomUUID } from 'node:crypto';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { DriverAdapterError } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { parseDatasource, quoteIdent, withMaintenanceClient } from './datasource.mjs';

/** @typedef {import('./datasource.mjs').Datasource} Datasource */

const MIGRATIONS_TABLE_COLUMNS = {
  // Prisma's ColumnTypeEnum: Int32 0, Text 7, DateTime 10.
  columnNames: [
    'id',
    'checksum',
    'finished_at',
    'migration_name',
    'logs',
    'rolled_back_at',
    'started_at',
    'applied_steps_count',
  ],
  columnTypes: [7, 7, 10, 7, 7, 10, 10, 0],
};

/**
 * SQLite: the engine reads `_prisma_migrations` before knowing whether it exists and treats the adapter's
 * "no such table" as fatal, where the native engine reads it as "no migration applied yet"; and it
 * replays migration scripts through executeRaw, which better-sqlite3 runs one statement at a time.
 * @param {import('./datasource.mjs').SqliteDatasource} ds
 */
export function sqliteFactory(ds) {
  const base = new PrismaBetterSqlite3({ url: `file:${ds.file}` });
  /** @type {Promise<any> | undefined} */
  let main;
  // One connection to the main database, shared by the engine and our SQLite reset: a second one would
  // keep the engine from taking the exclusive lock it migrates under.
  const openMain = () =>
    (main ??= base.connect().then(patchSqliteAdapter, (error) => {
      throw new DriverAdapterError({
        kind: 'sqlite',
        extendedCode: 14, // SQLITE_CANTOPEN
        message: `cannot open the SQLite database ${ds.file}: ${error.message}`,
      });
    }));
  return {
    provider: base.provider,
    adapterName: base.adapterName,
    // The engine connects as it starts, whatever the command: the file is opened by the first query, so
    // a command that needs no database (`migrate diff` between schema files) neither needs nor creates it.
    connect: async () => lazySqliteAdapter(openMain),
    connectToShadowDb: async () => patchSqliteAdapter(await base.connectToShadowDb()),
    /** @returns {Promise<import('better-sqlite3').Database>} */
    mainConnection: async () => (await openMain()).client,
    /** Closing (rather than being killed) lets SQLite remove the rollback journal it keeps in exclusive mode. */
    async cleanUp() {
      const adapter = await main?.catch(() => undefined);
      if (adapter?.client.open) adapter.client.close();
    },
  };
}

/** @param {() => Promise<any>} open */
function lazySqliteAdapter(open) {
  /** @type {Promise<any> | undefined} */
  let adapter;
  const get = () => (adapter ??= open());
  return {
    provider: 'sqlite',
    adapterName: '@prisma/adapter-better-sqlite3',
    /** @param {any} query */
    queryRaw: async (query) => (await get()).queryRaw(query),
    /** @param {any} query */
    executeRaw: async (query) => (await get()).executeRaw(query),
    /** @param {string} script */
    executeScript: async (script) => (await get()).executeScript(script),
    /** @param {any} isolationLevel */
    startTransaction: async (isolationLevel) => (await get()).startTransaction(isolationLevel),
    dispose: async () => (adapter ? (await adapter).dispose() : undefined),
  };
}

/** @param {any} adapter */
function patchSqliteAdapter(adapter) {
  const queryRaw = adapter.queryRaw.bind(adapter);
  const executeRaw = adapter.executeRaw.bind(adapter);
  const executeScript = adapter.executeScript.bind(adapter);
  /** @param {any} query */
  adapter.queryRaw = async (query) => {
    try {
      return await queryRaw(query);
    } catch (error) {
      const cause = /** @type {any} */ (error).cause;
      if (cause?.kind === 'TableDoesNotExist' && cause.table === '_prisma_migrations') {
        return { ...MIGRATIONS_TABLE_COLUMNS, rows: [] };
      }
      throw explainBusy(error);
    }
  };
  /** @param {any} query */
  adapter.executeRaw = async (query) => {
    try {
      return await executeRaw(query);
    } catch (error) {
      if (
        query.args.length === 0 &&
        /more than one statement/.test(String(/** @type {Error} */ (error).message))
      ) {
        adapter.client.exec(query.sql);
        return 0;
      }
      throw explainBusy(error);
    }
  };
  /** @param {string} script */
  adapter.executeScript = async (script) => {
    try {
      return await executeScript(script);
    } catch (error) {
      throw explainBusy(error);
    }
  };
  return adapter;
}

/**
 * adapter-better-sqlite3 reports SQLITE_BUSY as SocketTimeout, an error kind the engine cannot read; it
 * gets SQLite's own code and a message saying what to do.
 * @param {any} error
 */
function explainBusy(error) {
  if (error?.cause?.kind === 'SocketTimeout') {
    error.cause = {
      kind: 'sqlite',
      // Not 5 (SQLITE_BUSY): the engine turns that into "P1008 Socket timeout", losing this message.
      extendedCode: 1,
      message:
        'database is locked: another connection is using it (a running binfleet server?). Migrations need the ' +
        'SQLite file to themselves: stop the server, or apply them at its startup before it opens the database.',
    };
  }
  return error;
}

/**
 * adapter-pg cannot map PostgreSQL's one-byte "char" type, which the engine meets in the catalogue
 * (pg_constraint.contype...): this client reports such columns as text, which is what their values are.
 */
class CharAsTextClient extends pg.Client {
  /** @param {any[]} args */
  query(...args) {
    // pg.Pool passes a callback, pg.Client callers may await the result instead.
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (/** @type {unknown} */ error, /** @type {unknown} */ result) =>
        callback(error, error ? result : relabelCharColumns(result));
      return super.query(...args);
    }
    const result = super.query(...args);
    return typeof result?.then === 'function' ? result.then(relabelCharColumns) : result;
  }
}

const CHAR_OID = 18;
const TEXT_OID = 25;

/** @param {any} result */
function relabelCharColumns(result) {
  for (const part of Array.isArray(result) ? result : [result]) {
    for (const field of part?.fields ?? []) if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
  }
  return result;
}

/**
 * PostgreSQL: the shadow database is managed here. adapter-pg's own would be created but never used
 * when built from a connection string, and it drops the database while its pool is still connected.
 * Without shadowDatabaseUrl a temporary database is created per use and dropped after it; a given
 * shadowDatabaseUrl is emptied first, as the native engine does.
 * @param {import('./datasource.mjs').PostgresDatasource} ds
 * @param {string | undefined} shadowDatabaseUrl
 */
export function postgresFactory(ds, shadowDatabaseUrl) {
  /** @type {Set<string>} */
  const temporaryDatabases = new Set();
  /** @param {import('./datasource.mjs').PostgresDatasource} target */
  const connectTo = (target) =>
    new PrismaPg({ ...target.config, Client: CharAsTextClient }, { schema: target.schema }).connect();

  return {
    provider: /** @type {const} */ ('postgres'),
    adapterName: '@prisma/adapter-pg',
    connect: () => connectTo(ds),
    async connectToShadowDb() {
      if (shadowDatabaseUrl) {
        const shadow = /** @type {import('./datasource.mjs').PostgresDatasource} */ (
          parseDatasource(shadowDatabaseUrl, '.')
        );
        const adapter = await connectTo(shadow);
        const schema = quoteIdent(shadow.schema ?? 'public');
        await adapter.executeScript(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
        return adapter;
      }
      const database = `prisma_migrate_shadow_db_${randomUUID()}`;
      await withMaintenanceClient(ds, (client) => client.query(`CREATE DATABASE ${quoteIdent(database)}`));
      temporaryDatabases.add(database);
      const adapter = await connectTo({ ...ds, database, config: { ...ds.config, database } });
      const dispose = adapter.dispose.bind(adapter);
      adapter.dispose = async () => {
        await dispose();
        await dropDatabase(ds, database);
        temporaryDatabases.delete(database);
      };
      return adapter;
    },
    /** Drops shadow databases still there (the engine stopped before disposing of them). */
    async cleanUp() {
      for (const database of temporaryDatabases) await dropDatabase(ds, database);
      temporaryDatabases.clear();
    },
  };
}

/** @param {import('./datasource.mjs').PostgresDatasource} ds @param {string} database */
async function dropDatabase(ds, database) {
  await withMaintenanceClient(ds, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`),
  );
}

/** @param {Datasource} ds @param {string | undefined} shadowDatabaseUrl */
export function adapterFactoryFor(ds, shadowDatabaseUrl) {
  return ds.provider === 'sqlite' ? sqliteFactory(ds) : postgresFactory(ds, shadowDatabaseUrl);
}
