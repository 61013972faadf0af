import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { keepPreparedStatements } from './sqlite-statements.ts';

/** Statements used the way Prisma's better-sqlite3 adapter uses them. */
const query = (db: Database.Database, sql: string, args: unknown[]) => {
  const statement = db.prepare(sql).bind(args) as unknown as {
    reader: boolean;
    run(): Database.RunResult;
    columns(): Database.ColumnDefinition[];
    raw(): { all(): unknown[] };
  };
  if (!statement.reader) return statement.run();
  return { columns: statement.columns().map((c) => c.name), rows: statement.raw().all() };
};

describe('keepPreparedStatements', () => {
  it("runs one kept statement with each call's parameters, for writes, reads and RETURNING", () => {
    const db = new Database(':memory:');
    const prepared: string[] = [];
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => (prepared.push(sql), prepare(sql))) as typeof db.prepare;
    keepPreparedStatements(db);
    query(db, 'CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)', []);
    for (const [id, name] of [
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ] as const)
      expect(query(db, 'INSERT INTO t (id, name) VALUES (?, ?)', [id, name])).toMatchObject({ changes: 1 });
    expect(query(db, 'SELECT id, name FROM t WHERE id >= ? ORDER BY id', [2])).toEqual({
      columns: ['id', 'name'],
      rows: [
        [2, 'b'],
        [3, 'c'],
      ],
    });
    expect(query(db, 'SELECT id, name FROM t WHERE id >= ? ORDER BY id', [3])).toEqual({
      columns: ['id', 'name'],
      rows: [[3, 'c']],
    });
    expect(query(db, 'UPDATE t SET name = ? WHERE id = ? RETURNING id', ['z', 1])).toEqual({
      columns: ['id'],
      rows: [[1]],
    });
    expect(query(db, 'UPDATE t SET name = ? WHERE id = ? RETURNING id', ['y', 9])).toEqual({
      columns: ['id'],
      rows: [],
    });
    expect(prepared.filter((sql) => sql.startsWith('INSERT'))).toHaveLength(1);
    expect(prepared.filter((sql) => sql.startsWith('SELECT'))).toHaveLength(1);
    expect(query(db, 'SELECT name FROM t WHERE id = ?', [1])).toEqual({ columns: ['name'], rows: [['z']] });
  });

  it('keeps at most the given number, dropping the least recently used', () => {
    const db = new Database(':memory:');
    const prepared: string[] = [];
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => (prepared.push(sql), prepare(sql))) as typeof db.prepare;
    keepPreparedStatements(db, 2);
    const one = 'SELECT 1';
    const two = 'SELECT 2';
    const three = 'SELECT 3';
    for (const sql of [one, two, one, three, one, two]) query(db, sql, []);
    // 'one' stayed (used again before 'three' came), 'two' was dropped for 'three' and prepared again.
    expect(prepared).toEqual([one, two, three, two]);
  });

  it('does not keep a statement SQLite refuses', () => {
    const db = new Database(':memory:');
    keepPreparedStatements(db);
    expect(() => query(db, 'SELECT * FROM missing', [])).toThrow(/no such table/);
    query(db, 'CREATE TABLE missing (x)', []);
    expect(query(db, 'SELECT * FROM missing', [])).toEqual({ columns: ['x'], rows: [] });
  });

  it("keeps a reader's columns, and reads them again once the schema under it changed", () => {
    const dir = mkdtempSync(join(tmpdir(), 'binfleet-statements-'));
    const file = join(dir, 'db.sqlite');
    const db = new Database(file);
    keepPreparedStatements(db);
    query(db, 'CREATE TABLE t (a INTEGER)', []);
    query(db, 'INSERT INTO t (a) VALUES (?)', [1]);
    const statement = () => db.prepare('SELECT * FROM t') as unknown as { columns(): unknown[] };
    // The same definitions twice: not built again for each run.
    expect(statement().columns()).toBe(statement().columns());
    // Another connection (another process migrating) adds a column: SQLite prepares the kept statement
    // again when it next runs, and the columns follow from the run after that one.
    const other = new Database(file);
    other.exec('ALTER TABLE t ADD COLUMN b TEXT');
    other.close();
    query(db, 'SELECT * FROM t', []);
    expect(query(db, 'SELECT * FROM t', [])).toEqual({ columns: ['a', 'b'], rows: [[1, null]] });
    db.close();
    rmSync(dir, { recursive: true });
  });
});
