import { isIP } from 'node:net';

/**
 * The address of this host's interface that routes to `serverUrl`: what the control plane can call
 * this agent at when it sits on the same network path. A connected UDP socket makes the kernel pick
 * the route and the source address without sending a packet. Rejects when no route exists.
 */
export async function localAddressToward(serverUrl: string): Promise<string> {
  const url = new URL(serverUrl);
  const name = url.hostname.replace(/^\[(.*)\]$/, '$1');
  // Loaded when asked (an agent told its URL never is).
  const address = isIP(name) ? name : (await (await import('node:dns/promises')).lookup(name)).address;
  const family = isIP(address) === 6 ? 'udp6' : 'udp4';
  const socket = (await import('node:dgram')).createSocket(family);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      // Any port: nothing is sent, connect() only asks the kernel for a route.
      socket.connect(Number(url.port) || 443, address, () => resolve());
    });
    return socket.address().address;
  } finally {
    socket.close();
  }
}

/** `host:port` as a URL authority: IPv6 addresses in brackets. */
export function urlHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** A wildcard listen address (0.0.0.0, ::) names no host anyone could call. */
export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '[::]';
}
