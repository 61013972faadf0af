// Configuration of the Prisma CLI (`prisma migrate ...`, `prisma generate`); docs/database.md explains it.
import { prismaConfig, schemaEngineBinary } from './packages/db/src/prisma-config.ts';

// Migrations need a schema engine. The native one is downloaded at install time, which is not always
// possible: unless one is configured or installed, the CLI runs Prisma's own WebAssembly engine through
// our shim (packages/db/engine).
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= schemaEngineBinary();

// The datasource decides the provider: file: is SQLite (the default), postgresql:// is PostgreSQL.
export default prismaConfig(process.env);
