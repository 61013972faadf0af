import { describe, expect, it } from 'vitest';
import { describeDatabaseFailure } from './database-errors.ts';

describe('describeDatabaseFailure', () => {
  it('tells a full disk under SQLite, found in the cause chain', () => {
    const driver = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    const wrapped = new Error('Invalid `prisma.host.update()` invocation', { cause: { cause: driver } });
    expect(describeDatabaseFailure(wrapped)).toMatch(/out of disk space: free space/);
  });

  it('tells a full disk under PostgreSQL', () => {
    const pg = Object.assign(new Error('could not extend file "base/1/2": No space left on device'), {
      code: '53100',
    });
    expect(describeDatabaseFailure(pg)).toMatch(/out of disk space/);
  });

  it('tells an unreachable database server', () => {
    expect(describeDatabaseFailure(new Error('connect ECONNREFUSED 127.0.0.1:5432'))).toMatch(
      /cannot reach its database: check that PostgreSQL is running/,
    );
  });

  it('leaves other errors alone', () => {
    expect(describeDatabaseFailure(new Error('Unique constraint failed'))).toBeUndefined();
    expect(describeDatabaseFailure(undefined)).toBeUndefined();
  });
});
