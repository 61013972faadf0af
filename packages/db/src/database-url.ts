import path from 'node:path';
import { REPO_ROOT } from './paths.ts';

export type DatabaseProvider = 'sqlite' | 'postgresql';

/** Relative to the repository root, in its gitignored data/ folder. */
export const DEFAULT_DATABASE_URL = 'file:./data/binfleet.db';

export class DatabaseUrlError extends Error {
  override name = 'DatabaseUrlError';
}

/** DATABASE_URL of `env` (a script's environment), or the default. */
export function configuredDatabaseUrl(env: NodeJS.ProcessEnv): string {
  return env.DATABASE_URL || DEFAULT_DATABASE_URL;
}

export function databaseProvider(url: string): DatabaseProvider {
  if (url.startsWith('file:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgresql';
  throw new DatabaseUrlError(
    `DATABASE_URL must name a SQLite file (file:./data/binfleet.db) or a PostgreSQL database ` +
      `(postgresql://user:password@host:5432/binfleet); got "${redactUrl(url)}".`,
  );
}

/**
 * The URL with a relative SQLite path made absolute against the repository root: the Prisma CLI
 * resolves it from the config's folder, the server from wherever it was started, and both must open
 * the same file.
 */
export function resolveDatabaseUrl(url: string): string {
  if (databaseProvider(url) !== 'sqlite') return url;
  const { location, query } = splitFileUrl(url);
  if (location.startsWith('//') || path.isAbsolute(location)) return url;
  return `file:${path.resolve(REPO_ROOT, location)}${query}`;
}

/** Absolute path of the SQLite database a file: URL names. */
export function sqliteFilePath(url: string): string {
  const { location } = splitFileUrl(resolveDatabaseUrl(url));
  return location.startsWith('//') ? decodeURIComponent(new URL(`file:${location}`).pathname) : location;
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

function splitFileUrl(url: string): { location: string; query: string } {
  const rest = url.slice('file:'.length);
  const at = rest.indexOf('?');
  return at === -1 ? { location: rest, query: '' } : { location: rest.slice(0, at), query: rest.slice(at) };
}
