import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { gatewayResponse, isGatewayPath } from './http-gateway.ts';
import { bodyRefusal, MAX_BODY_BYTES, UPLOAD_PATH } from './http-limits.ts';
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

/** Answers sent as streams: server-sent events, files, tRPC's streamed batches. */
const STREAMED = /^(text\/event-stream|application\/octet-stream|application\/jsonl)/;

/**
 * A request's body for fetch: read whole when its declared length is within the limit (tRPC calls:
 * one buffer instead of a web stream over the socket), streamed otherwise (package uploads, and
 * bodies the gateway refuses before reading: over the limit, or without a length).
 */
async function requestBody(req: IncomingMessage, pathname: string): Promise<RequestInit> {
  const declared = req.headers['content-length'];
  if (
    pathname !== UPLOAD_PATH &&
    declared !== undefined &&
    /^\d+$/.test(declared) &&
    Number(declared) <= MAX_BODY_BYTES
  ) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return { body: Buffer.concat(chunks) };
  }
  return { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } as RequestInit;
}

/**
 * Answers a Node request for one of the gateway's paths (gatewayPathOf said so): the request becomes
 * a fetch Request carrying its TCP peer (in the peer headers too, replacing any a client sent, as
 * stampPeers() does for Next), and the answer is written back whole or, for streams, piped with
 * backpressure; a client that goes away aborts it (a dial-out channel ends with its agent's
 * connection).
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
  // Only a client gone before its answer is complete aborts anything (a dial-out channel's stream).
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  const request = new Request(url, {
    method,
    headers,
    ...(hasBody ? await requestBody(req, url.pathname) : {}),
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
  // A body the gateway refuses unread (its size or length): the connection is closed after the
  // answer, so that the client reads the answer instead of a reset mid-body.
  if (hasBody && bodyRefusal(method, url.pathname, headers)) outHeaders.connection = 'close';
  if (!response.body || method === 'HEAD') {
    res.writeHead(response.status, outHeaders);
    await response.body?.cancel();
    res.end();
    return;
  }
  // A whole answer (tRPC's JSON, a script, a refusal) in one write with its length; streams (a
  // channel's events, release files and packages) piped.
  if (!STREAMED.test(response.headers.get('content-type') ?? '')) {
    const body = Buffer.from(await response.arrayBuffer());
    outHeaders['content-length'] = String(body.length);
    res.writeHead(response.status, outHeaders);
    res.end(body);
    return;
  }
  res.writeHead(response.status, outHeaders);
  // A client that went away ends the stream early: nothing to report.
  await pipeline(Readable.fromWeb(response.body as NodeReadableStream), res).catch(() => undefined);
}
