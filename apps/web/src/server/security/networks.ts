import { BlockList, isIP } from 'node:net';

/**
 * A set of addresses and CIDRs (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`), for the trusted proxies and
 * the outbound allow-list. IPv4 peers of a dual-stack socket (`::ffff:10.1.2.3`) match as IPv4.
 */
export class Networks {
  private readonly list = new BlockList();

  private constructor(readonly entries: readonly string[]) {
    for (const entry of entries) {
      const [net, bits] = entry.split('/') as [string, string | undefined];
      const type = isIP(net) === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.list.addAddress(net, type);
      else this.list.addSubnet(net, Number(bits), type);
    }
  }

  /** The networks in `entries`; throws naming the first entry that is not an address or CIDR. */
  static parse(entries: readonly string[]): Networks {
    for (const entry of entries) {
      const problem = cidrProblem(entry);
      if (problem) throw new Error(problem);
    }
    return new Networks(entries);
  }

  has(address: string): boolean {
    // Most servers trust no proxy: nothing to parse or look up for each request.
    if (this.entries.length === 0) return false;
    const ip = plainAddress(address);
    const family = isIP(ip);
    if (family === 0) return false;
    return this.list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }

  get size(): number {
    return this.entries.length;
  }
}

/** Why `entry` is not an address or CIDR, or undefined. */
export function cidrProblem(entry: string): string | undefined {
  const [net, bits, extra] = entry.split('/');
  const family = isIP(net ?? '');
  if (extra !== undefined || family === 0) return `"${entry}" is not an address or CIDR`;
  if (bits !== undefined && (!/^\d+$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)))
    return `"${entry}" is not a valid CIDR`;
  return undefined;
}

/** `::ffff:a.b.c.d` (or `::ffff:a9fe:a9fe`, as URLs write it) as `a.b.c.d`, brackets and a zone id taken off. */
export function plainAddress(address: string): string {
  const plain = address
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/%.*$/, '')
    .replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(plain);
  if (!mapped) return plain;
  const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}
