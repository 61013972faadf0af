import { isIP } from 'node:net';

/**
 * The control plane's public URL: what hosts are told to reach it at. It ends up in the install
 * script and in every agent's --server, so it is held to a strict shape: http(s), a host, maybe a
 * port and a path prefix, nothing a shell or another URL would read twice.
 */
export function publicUrlProblem(raw: string): string | undefined {
  if (raw.length > 300) return 'longer than 300 characters';
  if (!/^[A-Za-z0-9._~:/[\]%-]+$/.test(raw))
    return 'has characters other than letters, digits and . _ ~ : / [ ] % -';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'is not http(s)';
  if (url.username || url.password) return 'carries credentials';
  if (url.search || url.hash || raw.includes('?') || raw.includes('#')) return 'has a query or fragment';
  return undefined;
}

/** Without its trailing slash, so paths append as `${url}/agent/install.sh`. */
export function normalizePublicUrl(raw: string): string {
  return new URL(raw).href.replace(/\/+$/, '');
}

/** Why hosts on other machines could not use this URL, or undefined when they might. */
export function publicUrlWarning(url: string | undefined): string | undefined {
  if (url === undefined)
    return 'No public URL is set: the line uses the address this browser reached binfleet at. Set the address hosts reach it at in Settings > General.';
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const loopback =
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    (isIP(host) === 4 && host.startsWith('127.')) ||
    host === '::1' ||
    host === '0.0.0.0';
  return loopback
    ? `${url} is a loopback address: only this machine can reach it. Set the address other hosts reach binfleet at in Settings > General.`
    : undefined;
}
