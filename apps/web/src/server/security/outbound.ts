import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Networks, plainAddress } from './networks.ts';

/**
 * Every request the control plane makes on someone's say-so (registries an admin configured, agents at
 * the URL they advertised) goes out through here, so the rules hold in one place:
 *
 * - link-local and cloud-metadata addresses are refused, always: the name is resolved first, every
 *   address it resolves to is checked, and the connection goes to the checked address only (no second
 *   lookup a rebinding DNS server could answer differently);
 * - with BINFLEET_OUTBOUND_ALLOW set (host names, `*.suffix`, addresses, CIDRs), only destinations it
 *   names: a listed name, or a name whose every address is inside a listed network;
 * - redirects are followed only within the same origin (at most 5), and an answer larger than its
 *   limit is cut off.
 */
const ALWAYS_REFUSED = Networks.parse([
  // Link-local: every cloud's metadata service (169.254.169.254) and more live here.
  '169.254.0.0/16',
  'fe80::/10',
  // Metadata services elsewhere: AWS over IPv6, Alibaba, Azure's wire server; NAT64 of link-local.
  'fd00:ec2::254',
  '100.100.100.200',
  '168.63.129.16',
  '64:ff9b::a9fe:0/112',
  // "This host" and multicast: never a registry or an agent.
  '0.0.0.0/8',
  '::',
  '224.0.0.0/4',
  'ff00::/8',
]);

const MAX_REDIRECTS = 5;
const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;

/** A destination the rules refuse (before any connection to it was made). */
export class OutboundRefused extends Error {
  override readonly name = 'OutboundRefused';
}

export type Resolver = (host: string) => Promise<readonly { address: string; family: number }[]>;

export interface OutboundOptions {
  /** BINFLEET_OUTBOUND_ALLOW: empty, anything but the addresses refused always. */
  readonly allow: readonly string[];
  /** How names are resolved (the system's resolver unless a test gives one). */
  readonly resolve?: Resolver;
}

export interface OutboundInit {
  readonly method?: string;
  readonly headers?: ConstructorParameters<typeof Headers>[0];
  readonly body?: string | Uint8Array;
  readonly signal?: AbortSignal | null;
  /** The largest answer taken, in bytes (default 8 MiB). */
  readonly maxBytes?: number;
}

interface Target {
  readonly address: string;
  readonly family: 4 | 6;
}

export class OutboundPolicy {
  private readonly names: readonly string[];
  private readonly networks: Networks;
  private readonly resolve: Resolver;

  constructor(options: OutboundOptions) {
    const rules = options.allow.map((r) => r.toLowerCase());
    this.names = rules.filter((r) => isIP(r.split('/')[0]!) === 0);
    this.networks = Networks.parse(rules.filter((r) => isIP(r.split('/')[0]!) !== 0));
    this.resolve = options.resolve ?? ((host) => dnsLookup(host, { all: true, verbatim: true }));
  }

  /** Checks `url` and resolves its host: the address to connect to; throws OutboundRefused. */
  async check(url: URL): Promise<Target> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new OutboundRefused(`${url.protocol} URLs are not called, only http and https`);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
    const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await this.resolve(host);
    if (addresses.length === 0) throw new OutboundRefused(`${host} resolves to no address`);
    const plain = addresses.map((a) => plainAddress(a.address));
    const forbidden = plain.find((a) => ALWAYS_REFUSED.has(a));
    if (forbidden !== undefined)
      throw new OutboundRefused(
        `${host}${forbidden === host ? '' : ` resolves to ${forbidden}, which`} is a link-local or cloud metadata address: never called`,
      );
    const allowed =
      this.names.length + this.networks.size === 0 ||
      this.names.some((rule) => (rule.startsWith('*.') ? host.endsWith(rule.slice(1)) : host === rule)) ||
      plain.every((a) => this.networks.has(a));
    if (!allowed)
      throw new OutboundRefused(`${host} (${plain.join(', ')}) is not in BINFLEET_OUTBOUND_ALLOW`);
    const first = plain[0]!;
    return { address: first, family: isIP(first) === 6 ? 6 : 4 };
  }

  /** Node's `lookup` option for a connection to `target` (already checked): no second lookup. */
  static pinned(target: Target): LookupFunction {
    return (_hostname, options, callback) => {
      if (options.all) callback(null, [{ address: target.address, family: target.family }]);
      else callback(null, target.address, target.family);
    };
  }

  /** `url` checked, for a request made elsewhere (a streamed upload): its `lookup` option. */
  async lookupFor(url: URL): Promise<LookupFunction> {
    return OutboundPolicy.pinned(await this.check(url));
  }

  /**
   * A fetch through the rules: each hop checked and connected to its checked address; a redirect to
   * another origin is refused (OutboundRefused), one within it followed.
   */
  readonly fetch = async (input: string | URL, init: OutboundInit = {}): Promise<Response> => {
    let url = new URL(input);
    let method = init.method ?? 'GET';
    let body = init.body;
    for (let hop = 0; ; hop++) {
      const response = await this.once(url, { ...init, method, ...(body === undefined ? {} : { body }) });
      const location = response.headers.get('location');
      if (![301, 302, 303, 307, 308].includes(response.status) || !location) return response;
      const next = new URL(location, url);
      if (next.origin !== url.origin)
        throw new OutboundRefused(
          `${url.origin} redirected to another origin (${next.origin}): not followed`,
        );
      if (hop >= MAX_REDIRECTS)
        throw new OutboundRefused(`${url.origin} redirected more than ${MAX_REDIRECTS} times`);
      if (response.status === 303) [method, body] = ['GET', undefined];
      url = next;
    }
  };

  private async once(url: URL, init: OutboundInit): Promise<Response> {
    const target = await this.check(url);
    const maxBytes = init.maxBytes ?? DEFAULT_MAX_BYTES;
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    return new Promise((resolve, reject) => {
      const client = url.protocol === 'https:' ? https : http;
      const req = client.request(
        url,
        {
          method: init.method,
          headers,
          lookup: OutboundPolicy.pinned(target),
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              req.destroy();
              reject(new OutboundRefused(`${url.origin} answered more than ${maxBytes} bytes: cut off`));
            } else chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 502;
            const out = new Headers();
            for (const [name, value] of Object.entries(res.headers))
              for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
                out.append(name, v);
            const empty = [101, 204, 205, 304].includes(status) || init.method === 'HEAD';
            resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers: out }));
          });
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });
  }
}
