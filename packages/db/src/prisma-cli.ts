import { execFile } from 'node:child_process';
import { DEFAULT_DATABASE_URL, redactUrl, resolveDatabaseUrl } from './database-url.ts';
import { childEnv } from './env.ts';
import { REPO_ROOT, requireFromDb } from './paths.ts';

const prismaCli = () => requireFromDb.resolve('prisma/build/index.js');

export interface PrismaCliOptions {
  /** The database to work on; commands that open none (version, generate) need not say. */
  databaseUrl?: string;
  shadowDatabaseUrl?: string;
  timeoutMs?: number;
}

export interface PrismaCliResult {
  stdout: string;
  stderr: string;
}

export class PrismaCliError extends Error {
  override name = 'PrismaCliError';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** How to run the real Prisma CLI: from the repository root, so it loads prisma.config.ts. */
export function prismaCliInvocation(args: string[], options: PrismaCliOptions = {}) {
  const databaseUrl = resolveDatabaseUrl(options.databaseUrl ?? DEFAULT_DATABASE_URL);
  const env = childEnv({
    DATABASE_URL: databaseUrl,
    // No update check or telemetry: both would wait on the network.
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  });
  if (options.shadowDatabaseUrl) env.SHADOW_DATABASE_URL = options.shadowDatabaseUrl;
  return { file: process.execPath, args: [prismaCli(), ...args], cwd: REPO_ROOT, env, databaseUrl };
}

/**
 * Runs the real Prisma CLI (prisma.config.ts gives it the schema and migrations for the URL's provider,
 * and a schema engine that needs no download) and collects its output.
 */
export function runPrismaCli(args: string[], options: PrismaCliOptions = {}): Promise<PrismaCliResult> {
  const { file, args: argv, cwd, env, databaseUrl } = prismaCliInvocation(args, options);
  return new Promise((resolve, reject) => {
    execFile(
      file,
      argv,
      {
        cwd,
        env: { ...env, NO_COLOR: '1' },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr });
        const exitCode = typeof error.code === 'number' ? error.code : null;
        const detail = `${stderr}\n${stdout}`.trim().split('\n').slice(-20).join('\n');
        reject(
          new PrismaCliError(
            `prisma ${args.join(' ')} failed for ${redactUrl(databaseUrl)} (exit ${exitCode ?? error.signal}):\n${detail}`,
            exitCode,
            stdout,
            stderr,
          ),
        );
      },
    );
  });
}

/**
 * Applies pending migrations with `prisma migrate deploy`, as the server does at startup. Safe to run
 * from several replicas at once: Prisma takes a database lock while applying.
 */
export async function migrateDeploy(databaseUrl: string): Promise<PrismaCliResult> {
  return runPrismaCli(['migrate', 'deploy'], { databaseUrl });
}
