import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { Networks, plainAddress } from './networks.ts';

/**
 * Who sent a request, and whether it came over https. The peer is the TCP connection's other end:
 * the web and standalone servers write it into these two headers of the request they hand the
 * gateway (node-http-gateway.ts); under Next route handlers never see the socket, so `stampPeers()`
 * (called once from instrumentation.ts and scripts/serve.ts) writes it into these two headers of
 * every incoming request. Either way whatever a client sent under those names is replaced.
 */
export const PEER_HEADER = 'x-binfleet-peer';
export const PEER_PROTO_HEADER = 'x-binfleet-peer-proto';

export interface Peer {
  readonly address: string;
  readonly https: boolean;
}

/** What is read of a request's headers: a fetch `Headers`, or node-http-gateway.ts's view of a Node request. */
export type HeaderSource = Pick<Headers, 'get'>;

export interface RequestOrigin {
  /** The client's address, at most 64 characters (it is stored per attempt). */
  readonly address: string;
  readonly https: boolean;
}

/**
 * The client behind `peer`: the peer itself, unless it is one of `trustedProxies`; then X-Forwarded-For
 * is read from its end, past every trusted proxy, and the first address no proxy of ours wrote is the
 * client (entries further left were written by the client and are not believed), and
 * X-Forwarded-Proto's last value says whether the client used https. Without a known peer (a request
 * that reached Next before stampPeers ran) the client is "unknown".
 */
export function requestOrigin(
  headers: HeaderSource,
  trustedProxies: Networks,
  socketPeer: Peer | undefined,
): RequestOrigin {
  const peer = socketPeer ?? peerFromHeaders(headers);
  if (!peer) return { address: 'unknown', https: false };
  let address = plainAddress(peer.address);
  let secure = peer.https;
  if (trustedProxies.has(address)) {
    const forwarded = (headers.get('x-forwarded-for') ?? '')
      .split(',')
      .map((a) => plainAddress(a.trim()))
      .filter(Boolean);
    while (forwarded.length > 0) {
      address = forwarded.pop()!;
      if (!trustedProxies.has(address)) break;
    }
    const proto = headers.get('x-forwarded-proto')?.split(',').at(-1)?.trim().toLowerCase();
    if (proto) secure = proto === 'https';
  }
  return { address: address.toLowerCase().slice(0, 64), https: secure };
}

function peerFromHeaders(headers: HeaderSource): Peer | undefined {
  const address = headers.get(PEER_HEADER);
  return address ? { address, https: headers.get(PEER_PROTO_HEADER) === 'https' } : undefined;
}

const STAMPED = Symbol.for('binfleet.stamp-peers');

/**
 * Makes every HTTP(S) server of this process write each request's peer into PEER_HEADER and
 * PEER_PROTO_HEADER before any listener sees it. For Next, which never passes the socket on; idempotent.
 */
export function stampPeers(): void {
  for (const Server of [http.Server, https.Server]) {
    const proto = Server.prototype as { emit: (event: string | symbol, ...args: unknown[]) => boolean } & {
      [STAMPED]?: true;
    };
    if (proto[STAMPED]) continue;
    const emit = proto.emit;
    proto.emit = function (this: unknown, event: string | symbol, ...args: unknown[]) {
      if (event === 'request') {
        const req = args[0] as http.IncomingMessage;
        const socket = req.socket as Socket & { encrypted?: boolean };
        req.headers[PEER_HEADER] = socket.remoteAddress ?? '';
        req.headers[PEER_PROTO_HEADER] = socket.encrypted ? 'https' : 'http';
      }
      return emit.call(this, event, ...args);
    };
    proto[STAMPED] = true;
  }
}

const parsed = new WeakMap<readonly string[], Networks>();

/** `entries` as Networks, parsed once per list (the configuration's list lives as long as the process). */
export function networksOf(entries: readonly string[]): Networks {
  let networks = parsed.get(entries);
  if (!networks) parsed.set(entries, (networks = Networks.parse(entries)));
  return networks;
}
