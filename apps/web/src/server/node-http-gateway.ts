import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { gatewayResponse, isGatewayPath } from './http-gateway.ts';
import { PEER_HEADER, PEER_PROTO_HEADER, type Peer } from './security/request-origin.ts';
import type { ControlPlane } from './services/control-plane.ts';

/** A Host header that can stand in a URL's authority (anything else is read as localhost). */
const PLAIN_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * The path of a request as the gateway routes it, or undefined for a request target that is not a
 * plain path (absolute or authority forms, `//x`): those are never the gateway's.
 */
export function gatewayPathOf(req: IncomingMessage): string | undefined {
  const target = req.url ?? '';
  if (!target.startsWith('/') || target.startsWith('//')) return undefined;
  const pathname = new URL(target, 'http://localhost').pathname;
  return isGatewayPath(pathname) ? pathname : undefined;
}

/**
 * Answers a Node request for one of the gateway's paths (gatewayPathOf said so): the request becomes
 * a fetch Request carrying its TCP peer (in the peer headers too, replacing any a client sent, as
 * stampPeers() does for Next), and the answer is streamed back with backpressure; a client that goes
 * away aborts it (a dial-out channel ends with its agent's connection).
 */
export async function serveGateway(
  cp: ControlPlane,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const socket = req.socket as Socket & { encrypted?: boolean };
  const peer: Peer = { address: socket.remoteAddress ?? '', https: socket.encrypted === true };
  const host = req.headers.host && PLAIN_HOST.test(req.headers.host) ? req.headers.host : 'localhost';
  const url = new URL(req.url ?? '/', `${peer.https ? 'https' : 'http'}://${host}`);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
  }
  headers.set(PEER_HEADER, peer.address);
  headers.set(PEER_PROTO_HEADER, peer.https ? 'https' : 'http');
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  const request = new Request(url, {
    method,
    headers,
    signal: gone.signal,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
  } as RequestInit);
  let response: Response;
  try {
    response = (await gatewayResponse(cp, request, peer, gone.signal)) ?? new Response(null, { status: 404 });
  } catch (error) {
    console.error(
      JSON.stringify({ msg: 'gateway request failed', path: url.pathname, error: String(error) }),
    );
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'The control plane failed to answer; see its log.' } }));
    return;
  }
  const outHeaders: Record<string, string | string[]> = Object.fromEntries(response.headers);
  // getSetCookie keeps several cookies apart; Object.fromEntries joins them into one header.
  const cookies = response.headers.getSetCookie();
  if (cookies.length) outHeaders['set-cookie'] = cookies;
  // An answer given before the body was read (a refusal of its size or length): the connection is
  // closed after it, so that the client reads the answer instead of a reset mid-upload.
  if (hasBody && !req.complete) outHeaders.connection = 'close';
  res.writeHead(response.status, outHeaders);
  if (!response.body || method === 'HEAD') {
    await response.body?.cancel();
    res.end();
    return;
  }
  // A client that went away ends the stream early: nothing to report.
  await pipeline(Readable.fromWeb(response.body as NodeReadableStream), res).catch(() => undefined);
}
