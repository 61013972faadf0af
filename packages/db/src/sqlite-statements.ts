import type Database from 'better-sqlite3';

/** How many prepared statements a SQLite connection keeps (least recently used go first). */
export const SQLITE_STATEMENTS_KEPT = 256;

/**
 * What Prisma's better-sqlite3 adapter does with a statement: `prepare(sql).bind(args)`, then `run()`,
 * or `reader`, `columns()` and `raw().all()`. Anything else it might start using is missing here, so
 * it fails at once instead of running on a statement it does not expect.
 */
interface AdapterStatement {
  bind(args: unknown[]): AdapterStatement;
  readonly reader: boolean;
  run(): Database.RunResult;
  columns(): Database.ColumnDefinition[];
  raw(): { all(): unknown[] };
}

/**
 * Keeps the connection's prepared statements by their SQL. Prisma's adapter prepares every statement
 * it runs and binds the parameters to it, which makes a statement single-use: preparing was ~9% of
 * the control plane's CPU over a job (`prepare` in its profile, ~1 ms a statement counting SQLite's
 * parse). Here `prepare` hands out a view of a kept statement whose parameters go with each call
 * instead (better-sqlite3 runs a statement with the parameters given to `run` or `all` when none are
 * bound), so one statement serves every call of the same SQL. Calls are synchronous, so two never
 * share a statement at once.
 */
export function keepPreparedStatements(db: Database.Database, kept = SQLITE_STATEMENTS_KEPT): void {
  const prepare = db.prepare.bind(db);
  const statements = new Map<string, Kept>();
  const view = (k: Kept, args: unknown[] = []): AdapterStatement => ({
    bind: (bound) => view(k, bound),
    get reader() {
      return k.statement.reader;
    },
    run: () => k.statement.run(args),
    // The adapter asks for a reader's columns before each run: better-sqlite3 builds five strings per
    // column each time (~4% of the server's CPU per heartbeat). They are kept with the statement.
    columns: () => (k.columns ??= k.statement.columns()),
    raw: () => ({
      all: () => {
        const rows = k.statement.raw(true).all(args) as unknown[][];
        // A schema changed under a running process (another process migrated the database) can
        // change what a statement returns: its columns are read again when the width differs.
        if (k.columns && rows.length > 0 && rows[0]!.length !== k.columns.length) k.columns = undefined;
        return rows;
      },
    }),
  });
  db.prepare = ((sql: string) => {
    let k = statements.get(sql);
    if (k) statements.delete(sql);
    else {
      k = { statement: prepare(sql) };
      if (statements.size >= kept) statements.delete(statements.keys().next().value!);
    }
    statements.set(sql, k);
    return view(k);
  }) as unknown as typeof db.prepare;
}

interface Kept {
  readonly statement: Database.Statement;
  columns?: Database.ColumnDefinition[] | undefined;
}
