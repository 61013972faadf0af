/**
 * The browser suite signs up an admin, joins hosts and runs jobs against whatever database the server
 * it starts is given: it must never be one that matters. Only a SQLite file or a PostgreSQL server on
 * this machine is accepted.
 */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function assertLocalDatabase(url: string): void {
  if (url.startsWith('file:')) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('The e2e database URL is not a URL: give a file: URL or a local postgresql:// URL.');
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) {
    throw new Error(`The e2e suite runs on SQLite (file:) or PostgreSQL, not ${parsed.protocol}.`);
  }
  const socket = parsed.searchParams.get('host')?.startsWith('/') ?? false;
  if (!LOCAL_HOSTS.has(parsed.hostname) && !(parsed.hostname === '' && socket)) {
    throw new Error(
      `Refusing to run the e2e suite against the database on ${parsed.hostname}: it creates users, ` +
        'hosts and jobs. Use a throwaway database on this machine (localhost, 127.0.0.1 or a socket).',
    );
  }
}
