#!/usr/bin/env node
// A Prisma schema engine for machines without the native one (it is downloaded at install time from a
// host that is not always reachable). The Prisma CLI spawns whatever PRISMA_SCHEMA_ENGINE_BINARY names;
// this script speaks the native engine's protocol and delegates to Prisma's own WebAssembly schema
// engine (schema_engine_bg.wasm from the installed prisma package) over Prisma's driver adapters.
//
//   schema-engine-wasm.mjs [--datamodels FILE]... [--datasource JSON] [--enabled-preview-features a,b]
//                          [--extension-types JSON] [cli can-connect-to-database | cli create-database]
//   schema-engine-wasm.mjs --version
//
// Without `cli`: JSON-RPC 2.0, one object per line on stdin/stdout, requests served one at a time; logs
// are JSON lines on stderr. See docs/database.md.
/* global WebAssembly */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import readline from 'node:readline';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as glue from '@prisma/schema-engine-wasm/schema_engine_bg';
import { adapterFactoryFor } from './adapters.mjs';
import {
  assertDatabaseExists,
  createDatabase,
  EngineError,
  parseDatasource,
  resetSqlite,
} from './datasource.mjs';

const require = createRequire(import.meta.url);

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.version) {
    await loadWasm();
    process.stdout.write(`schema-engine-cli ${glue.version()}\n`);
    return;
  }
  const datasource = args.datasource?.url ? parseDatasource(args.datasource.url, process.cwd()) : undefined;
  if (args.cli) {
    process.exitCode = await runCliCommand(args.cli, datasource);
    return;
  }
  await serve(args, datasource);
}

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {{ datamodels: string[], datasource?: { url?: string, shadowDatabaseUrl?: string }, cli?: string, version: boolean }} */
  const args = { datamodels: [], version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--version' || arg === '-V') args.version = true;
    else if (arg === '--datamodels') args.datamodels.push(value());
    else if (arg === '--datasource') args.datasource = JSON.parse(value());
    else if (arg === '--enabled-preview-features' || arg === '--extension-types') value();
    else if (arg === 'cli') args.cli = argv[++i];
    else throw new Error(`unknown argument: ${arg}`);
  }
  return args;
}

let wasmLoaded = false;
/** Where the engine leaves a Rust panic's message before failing with "unreachable". */
let panicMessage = '';

/** Prisma's engine build matching this CLI, bound with the JS glue of @prisma/schema-engine-wasm. */
async function loadWasm() {
  if (wasmLoaded) return;
  const wasmPath = path.join(
    path.dirname(require.resolve('prisma/package.json')),
    'build',
    'schema_engine_bg.wasm',
  );
  /** @type {any} */ (globalThis).PRISMA_WASM_PANIC_REGISTRY = {
    set_message: (/** @type {string} */ message) => (panicMessage = message),
  };
  const module = await WebAssembly.compile(fs.readFileSync(wasmPath));
  const instance = await WebAssembly.instantiate(module, { './schema_engine_bg.js': glue });
  glue.__wbg_set_wasm(instance.exports);
  /** @type {any} */ (instance.exports).__wbindgen_start();
  wasmLoaded = true;
}

/**
 * `cli can-connect-to-database` and `cli create-database`: the CLI reads errors from stderr, skipping the
 * first line, as {level: "ERROR", target: "schema_engine::logger", fields: {error_code, message}}.
 * @param {string} command
 * @param {import('./datasource.mjs').Datasource | undefined} datasource
 */
async function runCliCommand(command, datasource) {
  log('INFO', `schema-engine-wasm cli ${command}`);
  try {
    if (!datasource) throw new EngineError('P1012', 'No datasource URL was given (--datasource).');
    if (command === 'can-connect-to-database') await assertDatabaseExists(datasource);
    else if (command === 'create-database') process.stdout.write(`${await createDatabase(datasource)}\n`);
    else throw new Error(`unknown cli command: ${command}`);
    return 0;
  } catch (error) {
    const { code, message } = /** @type {Error & { code?: string }} */ (error);
    writeStderr({ level: 'ERROR', target: 'schema_engine::logger', fields: { error_code: code, message } });
    return 1;
  }
}

/**
 * @param {ReturnType<typeof parseArgs>} args
 * @param {import('./datasource.mjs').Datasource | undefined} datasource
 */
async function serve(args, datasource) {
  await loadWasm();
  const datamodels = args.datamodels.map((file) => [file, fs.readFileSync(file, 'utf8')]);
  const factory = datasource
    ? adapterFactoryFor(datasource, args.datasource?.shadowDatabaseUrl)
    : unconnectedFactory(datamodels.map(([, text]) => text).join('\n'));
  const boundFactory = bindMigrationAwareSqlAdapterFactory(/** @type {any} */ (factory));
  /** The engine reports a JavaScript error from an adapter as "External error id#N": find it. @param {unknown} error */
  const explain = (error) => {
    const message = String(/** @type {Error} */ (error)?.message ?? error);
    return message.replace(/External error id#(\d+)/g, (text, id) => {
      const registered = boundFactory.errorRegistry.consumeError(Number(id));
      return registered ? String(/** @type {any} */ (registered.error)?.message ?? registered.error) : text;
    });
  };
  const engine = await glue.SchemaEngine.new(
    // An empty list would make the engine panic (it validates the first schema it is given).
    { datamodels: datamodels.length > 0 ? datamodels : undefined },
    (/** @type {string} */ line) => process.stderr.write(line.endsWith('\n') ? line : `${line}\n`),
    boundFactory,
  ).catch((/** @type {unknown} */ error) => {
    throw new Error(explain(error));
  });

  const rpc = new Rpc();
  /** @type {Record<string, (params: any) => Promise<unknown>>} */
  const methods = {
    getDatabaseVersion: (params) => engine.version(params),
    async createDatabase() {
      if (!datasource) throw new EngineError('P1012', 'No datasource URL was given (--datasource).');
      return { databaseName: await createDatabase(datasource) };
    },
    async reset(params) {
      if (!('mainConnection' in factory)) return engine.reset(params);
      // The WebAssembly engine's SQLite reset leaves the tables in place.
      resetSqlite(await factory.mainConnection());
      return {};
    },
    // These two read the schema the migrations produce from a cache that only diagnoseMigrationHistory
    // fills through the shadow database: called cold they fail ("shadow DB must be provided through an
    // external factory"), e.g. in `migrate dev` on a database that had pending migrations.
    async evaluateDataLoss(params) {
      await primeMigrationSchemaCache(params);
      return engine.evaluateDataLoss(params);
    },
    async createMigration(params) {
      await primeMigrationSchemaCache(params);
      return engine.createMigration(params);
    },
    async diff(params) {
      // The native engine prints the diff through a `print` request to the CLI; this one returns it.
      const { exitCode, stdout } = await engine.diff(params);
      if (stdout != null) await rpc.request('print', { content: stdout });
      return { exitCode };
    },
  };

  /** @param {{ migrationsList: unknown, filters: unknown }} params */
  async function primeMigrationSchemaCache({ migrationsList, filters }) {
    // An error here (a broken migration...) is reported by the call that needs the schema.
    await engine
      .diagnoseMigrationHistory({ migrationsList, optInToShadowDatabase: true, filters })
      .catch(() => {});
  }

  let queue = Promise.resolve();
  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  input.on('line', (line) => {
    if (!line.trim()) return;
    const message = JSON.parse(line);
    if (message.method === undefined) return rpc.settle(message);
    queue = queue.then(async () => {
      const handler =
        methods[message.method] ??
        (typeof (/** @type {any} */ (engine)[message.method]) === 'function'
          ? (/** @type {any} */ params) => /** @type {any} */ (engine)[message.method](params)
          : undefined);
      try {
        if (!handler) throw new Error(`The WebAssembly schema engine does not support ${message.method}.`);
        const result = await handler(message.params ?? {});
        rpc.reply(message.id, { result: result ?? {} });
      } catch (error) {
        rpc.reply(message.id, { error: rpcError(error, explain(error)) });
      }
    });
  });
  /** @type {Promise<void> | undefined} */
  let stopping;
  const stop = () =>
    (stopping ??= (async () => {
      await queue.catch(() => {});
      if ('cleanUp' in factory) await factory.cleanUp();
      process.exit(0);
    })());
  input.on('close', stop);
  // The CLI ends stdin and sends SIGTERM at once when it is done with the engine.
  process.on('SIGTERM', stop);
}

/** JSON-RPC over stdout: our answers, and our own requests to the CLI (print). */
class Rpc {
  nextId = 1;
  /** @type {Map<number | string, (message: any) => void>} */
  pending = new Map();

  /** @param {number | string} id @param {object} body */
  reply(id, body) {
    process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id, ...body })}\n`);
  }

  /** @param {string} method @param {object} params */
  request(method, params) {
    const id = `schema-engine-wasm-${this.nextId++}`;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  /** @param {{ id: number | string }} message */
  settle(message) {
    this.pending.get(message.id)?.(message);
    this.pending.delete(message.id);
  }
}

/**
 * The engine's error shape: code 4466, the Prisma error code and message in data.
 * @param {unknown} error
 * @param {string} message
 */
function rpcError(error, message) {
  const { code, meta } = /** @type {Error & { code?: unknown, meta?: unknown }} */ (error);
  const isPanic = error instanceof WebAssembly.RuntimeError;
  if (isPanic && panicMessage) message = `${panicMessage} (${message})`;
  return {
    code: 4466,
    message: 'An error happened. Check the data field for details.',
    data: {
      is_panic: isPanic,
      message,
      ...(typeof code === 'string' && /^P\d{4}$/.test(code) ? { error_code: code, meta: meta ?? {} } : {}),
      ...(isPanic ? { error: { message } } : {}),
    },
  };
}

/**
 * For commands that need no database (`migrate diff` between schema files): the engine still connects
 * at start. SQLite gets an in-memory database; PostgreSQL a connection that refuses every query, so a
 * command that does need the database says so.
 * @param {string} schemaText
 */
function unconnectedFactory(schemaText) {
  if (!/provider\s*=\s*"postgres(ql)?"/.test(schemaText)) {
    return adapterFactoryFor({ provider: 'sqlite', url: 'file::memory:', file: ':memory:' }, undefined);
  }
  const refuse = () =>
    Promise.reject(new EngineError('P1012', 'This command needs a database: set the datasource url.'));
  const adapter = {
    provider: 'postgres',
    adapterName: 'schema-engine-wasm-unconnected',
    queryRaw: refuse,
    executeRaw: refuse,
    executeScript: refuse,
    startTransaction: refuse,
    dispose: () => Promise.resolve(),
    getConnectionInfo: () => ({ schemaName: 'public', supportsRelationJoins: true }),
  };
  return {
    provider: 'postgres',
    adapterName: adapter.adapterName,
    connect: () => Promise.resolve(adapter),
    connectToShadowDb: refuse,
  };
}

/** @param {string} level @param {string} message */
function log(level, message) {
  writeStderr({ level, target: 'schema_engine_wasm', fields: { message } });
}

/** @param {object} line */
function writeStderr(line) {
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

// A Rust panic surfaces as "unreachable", sometimes outside any request's promise. Like the native
// engine: report it, exit with 101 (the CLI then shows a panic report).
process.on('uncaughtException', (error) => {
  const message = panicMessage || String(error?.stack ?? error);
  writeStderr({ level: 'ERROR', target: 'schema_engine::logger', fields: { message, is_panic: true } });
  process.exit(101);
});

main().catch((error) => {
  writeStderr({
    level: 'ERROR',
    target: 'schema_engine::logger',
    fields: { message: String(error?.stack ?? error) },
  });
  process.exit(1);
});
