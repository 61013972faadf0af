/**
 * Database failures that are not the request's fault, told in plain words with what to do: the disk
 * holding the database is full, or the database server cannot be reached. Prisma's driver adapters
 * wrap the driver's error (better-sqlite3, pg), so the whole cause chain is searched.
 */
export function describeDatabaseFailure(error: unknown): string | undefined {
  const text = causeChain(error)
    .map((e) => [e.code, e.message, e.kind].filter(Boolean).join(' '))
    .join(' | ');
  if (
    /SQLITE_FULL|database or disk is full|No space left on device|ENOSPC|\b53100\b|could not extend file/i.test(
      text,
    )
  )
    return (
      "The control plane's database is out of disk space: free space on the disk that holds it " +
      '(DATABASE_URL), then retry. What this request would have changed was not saved.'
    );
  if (
    /ECONNREFUSED|ECONNRESET|Connection terminated|terminating connection|\b57P0[123]\b|the database system is (starting up|shutting down)|DatabaseNotReachable/i.test(
      text,
    )
  )
    return (
      'The control plane cannot reach its database: check that PostgreSQL is running and DATABASE_URL ' +
      'is right, then retry.'
    );
  return undefined;
}

function causeChain(error: unknown): { code?: string; message?: string; kind?: string }[] {
  const chain: { code?: string; message?: string; kind?: string }[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current && typeof current === 'object'; depth++) {
    const e = current as { code?: unknown; message?: unknown; kind?: unknown; cause?: unknown };
    chain.push({
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      ...(typeof e.message === 'string' ? { message: e.message } : {}),
      ...(typeof e.kind === 'string' ? { kind: e.kind } : {}),
    });
    current = e.cause;
  }
  return chain;
}

/** The tRPC handlers' error hook (the gateway): a server error is logged once, in plain words. */
export function logServerError({
  error,
  path,
}: {
  error: { code: string; message: string; cause?: unknown };
  path?: string;
}): void {
  if (error.code === 'INTERNAL_SERVER_ERROR')
    console.error(
      JSON.stringify({
        msg: 'trpc error',
        path,
        error: describeDatabaseFailure(error.cause) ?? error.message,
      }),
    );
}
