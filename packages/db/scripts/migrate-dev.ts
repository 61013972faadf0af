// `prisma migrate dev` for both providers: the real CLI on the SQLite development database (arguments
// passed through, e.g. --name add-host-notes; it may ask questions), then the PostgreSQL twin of the new
// migration (sync-postgresql.ts). Prisma 7's migrate dev no longer generates the client, so both clients
// are generated here. Usage: pnpm db:migrate:dev --name <change>
import { spawnSync } from 'node:child_process';
import { configuredDatabaseUrl, databaseProvider, DEFAULT_DATABASE_URL } from '../src/database-url.ts';
import { prismaCliInvocation } from '../src/prisma-cli.ts';
import { SCHEMA_FILES } from '../src/paths.ts';

// prisma/schema.prisma (SQLite) is the source, so its migrations are made on a SQLite database.
const configured = configuredDatabaseUrl(process.env);
const databaseUrl = databaseProvider(configured) === 'sqlite' ? configured : DEFAULT_DATABASE_URL;

function prisma(args: string[]) {
  const { file, args: argv, cwd, env } = prismaCliInvocation(args, { databaseUrl });
  const { status } = spawnSync(file, argv, { cwd, env, stdio: 'inherit' });
  if (status !== 0) process.exit(status ?? 1);
}

prisma(['migrate', 'dev', ...process.argv.slice(2)]);
prisma(['generate', '--schema', SCHEMA_FILES.sqlite]);
await import('./sync-postgresql.ts');
