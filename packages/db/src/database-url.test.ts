import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  configuredDatabaseUrl,
  databaseProvider,
  DatabaseUrlError,
  DEFAULT_DATABASE_URL,
  resolveDatabaseUrl,
  sqliteFilePath,
} from './database-url.ts';
import { REPO_ROOT } from './paths.ts';

describe('database URLs', () => {
  it('default to the SQLite file in the repository data folder', () => {
    expect(configuredDatabaseUrl({})).toBe(DEFAULT_DATABASE_URL);
    expect(configuredDatabaseUrl({ DATABASE_URL: '' })).toBe(DEFAULT_DATABASE_URL);
    expect(sqliteFilePath(DEFAULT_DATABASE_URL)).toBe(path.join(REPO_ROOT, 'data', 'binfleet.db'));
  });

  it('tell the provider from the scheme', () => {
    expect(databaseProvider('file:./x.db')).toBe('sqlite');
    expect(databaseProvider('postgresql://u:p@db:5432/binfleet')).toBe('postgresql');
    expect(databaseProvider('postgres://db/binfleet')).toBe('postgresql');
  });

  it('refuse other schemes without echoing the password', () => {
    expect(() => databaseProvider('mysql://root:secret@db/binfleet')).toThrow(DatabaseUrlError);
    expect(() => databaseProvider('mysql://root:secret@db/binfleet')).toThrow(/root:\*\*\*@db/);
  });

  it('make relative SQLite paths absolute against the repository root, keeping parameters', () => {
    expect(resolveDatabaseUrl('file:./data/x.db?connection_limit=1')).toBe(
      `file:${path.join(REPO_ROOT, 'data', 'x.db')}?connection_limit=1`,
    );
    expect(resolveDatabaseUrl('file:/var/lib/binfleet/db.sqlite')).toBe('file:/var/lib/binfleet/db.sqlite');
    expect(resolveDatabaseUrl('postgresql://db/binfleet?schema=fleet')).toBe(
      'postgresql://db/binfleet?schema=fleet',
    );
  });
});
