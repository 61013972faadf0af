import { BlockList, isIP } from 'node:net';

/**
 * The URL an agent asks the control plane to call it at (on join). The control plane will send its
 * requests, with the agent's credential, there: so only plain http(s) URLs without credentials, a
 * query or a fragment, and, when BINFLEET_AGENT_URL_ALLOW is set, only to the hosts and networks it
 * lists. Hostnames are matched by name (`agent-1.lan`, or `*.lan` for any name under it), addresses
 * by CIDR (`10.0.0.0/8`, `fd00::/8`) or as written; a name is not resolved, so a name in the URL
 * passes only when the list names it.
 */
export function agentUrlProblem(raw: string, allow: readonly string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'it is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https URLs are called';
  if (url.username || url.password) return 'it carries a username or password';
  if (url.search || url.hash) return 'it has a query or fragment';
  if (allow.length === 0) return undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const family = isIP(host);
  for (const rule of allow.map((a) => a.toLowerCase())) {
    if (family !== 0) {
      const [net, bits] = rule.split('/');
      const ruleFamily = isIP(net ?? '');
      if (ruleFamily !== family) continue;
      const type = family === 4 ? 'ipv4' : 'ipv6';
      const list = new BlockList();
      if (bits === undefined) list.addAddress(net!, type);
      else list.addSubnet(net!, Number(bits), type);
      if (list.check(host, type)) return undefined;
    } else if (rule.startsWith('*.') ? host.endsWith(rule.slice(1)) : host === rule) {
      return undefined;
    }
  }
  return `${host} is not in BINFLEET_AGENT_URL_ALLOW`;
}

/**
 * An advertised URL as it may be stored, logged and audited: a password or username it carries
 * (refused, but still sent) is replaced, so a refusal never records a secret.
 */
export function agentUrlForRecord(raw: string): string {
  try {
    const url = new URL(raw);
    if (!url.username && !url.password) return raw;
    url.username = 'redacted';
    url.password = '';
    return url.toString();
  } catch {
    // Not a URL: nothing to take out by structure, so keep only its host-like start.
    return raw.replace(/\/\/[^/@]*@/, '//redacted@');
  }
}

/** Checks BINFLEET_AGENT_URL_ALLOW's entries once, at start: a typo must not silently allow nothing. */
export function allowListProblem(allow: readonly string[]): string | undefined {
  for (const rule of allow) {
    const [net, bits, extra] = rule.split('/');
    if (extra !== undefined) return `"${rule}" is neither a host name nor a CIDR`;
    const family = isIP(net ?? '');
    if (bits !== undefined) {
      const n = Number(bits);
      if (family === 0 || !/^\d+$/.test(bits) || n > (family === 4 ? 32 : 128))
        return `"${rule}" is not a valid CIDR`;
    } else if (family === 0 && !/^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(rule)) {
      return `"${rule}" is neither a host name nor an address`;
    }
  }
  return undefined;
}
