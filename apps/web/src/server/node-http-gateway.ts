import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { gatewayResponse, isGatewayPath } from './http-gateway.ts';
import { bodyRefusal, MAX_BODY_BYTES, UPLOAD_PATH } from './http-limits.ts';
import { answerHeartbeat, HEARTBEAT_PATH, isJsonCall } from './heartbeat-call.ts';
import {
  networksOf,
  PEER_HEADER,
  PEER_PROTO_HEADER,
  requestOrigin,
  type HeaderSource,
  type Peer,
} from './security/request-origin.ts';
import type { ControlPlane } from './services/control-plane.ts';
import { API_SECURITY_HEADERS } from '../shared/security-headers.ts';

const gzipAsync = promisify(gzip);

/** A Host header that can stand in a URL's authority (anything else is read as localhost). */
const PLAIN_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * The path of a request as the gateway routes it, or undefined for a request target that is not a
 * plain path (absolute or authority forms, `//x`, a backslash, which URL parsing reads as a slash):
 * those are never the gateway's (Next answers them).
 */
export function gatewayPathOf(req: IncomingMessage): string | undefined {
  const target = req.url ?? '';
  if (!target.startsWith('/') || target.startsWith('//') || target.includes('\\')) return undefined;
  const pathname = new URL(target, 'http://localhost').pathname;
  return isGatewayPath(pathname) ? pathname : undefined;
}

/** Answers written whole (with their length, gzipped when asked and worth it); anything else is piped. */
const WHOLE = /^(application\/json|text\/plain|text\/x-shellscript|application\/x-pem-file)\b/;
/** Headers of the fetch answer that belong to one connection, not to the answer. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);
const GZIP_FROM_BYTES = 1024;

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
    return { body: await wholeBody(req) };
  }
  return { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } as RequestInit;
}

/**
 * Answers a Node request for one of the gateway's paths (gatewayPathOf said so): the request becomes
 * a fetch Request carrying its TCP peer (in the peer headers too, replacing any a client sent, as
 * stampPeers() does for Next) and the scheme the client used (a trusted proxy's X-Forwarded-Proto
 * counts), and the answer is written back whole (JSON, scripts; gzipped over 1 KiB when the client
 * takes it) or piped with backpressure (event streams, files, packages). A client that goes away
 * before its answer is complete aborts it (a dial-out channel ends with its agent's connection).
 * Never rejects: a failure is logged and answered 500 while the headers can still be written.
 */
export async function serveGateway(
  cp: ControlPlane,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    await answer(cp, req, res);
  } catch (error) {
    console.error(JSON.stringify({ msg: 'gateway request failed', path: req.url, error: String(error) }));
    if (!res.headersSent) {
      res.writeHead(500, { ...API_SECURITY_HEADERS, 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'The control plane failed to answer; see its log.' } }));
    } else res.destroy();
  }
}

async function answer(cp: ControlPlane, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const socket = req.socket as Socket & { encrypted?: boolean };
  const peer: Peer = { address: socket.remoteAddress ?? '', https: socket.encrypted === true };
  // Heartbeats, the call every agent makes every interval, are answered without the fetch adapter.
  const heartbeatBody = isHeartbeatCall(req) ? await wholeBody(req) : undefined;
  if (heartbeatBody) {
    const heartbeat = await answerHeartbeat(cp, nodeHeaders(req, peer), heartbeatBody.toString('utf8'));
    if (heartbeat) {
      const outHeaders = copyHeaders(heartbeat.headers, {
        ...API_SECURITY_HEADERS,
        'content-type': 'application/json',
        vary: 'trpc-accept, accept',
      });
      return writeWhole(req, res, heartbeat.status, outHeaders, Buffer.from(heartbeat.body));
    }
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
  }
  headers.set(PEER_HEADER, peer.address);
  headers.set(PEER_PROTO_HEADER, peer.https ? 'https' : 'http');
  // The scheme the client used: behind a trusted TLS proxy, https (install scripts name it).
  const https = requestOrigin(headers, networksOf(cp.config.trustedProxies), peer).https;
  const host = req.headers.host && PLAIN_HOST.test(req.headers.host) ? req.headers.host : 'localhost';
  const url = new URL(`${https ? 'https' : 'http'}://${host}${req.url ?? '/'}`);
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  // Only a client gone before its answer is complete aborts anything (a dial-out channel's stream).
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  const refused = hasBody && bodyRefusal(method, url.pathname, headers) !== undefined;
  const body = heartbeatBody
    ? { body: heartbeatBody }
    : hasBody && !refused
      ? await requestBody(req, url.pathname)
      : {};
  const request = new Request(url, { method, headers, ...body } as RequestInit);
  const response = (await gatewayResponse(cp, request, gone.signal)) ?? new Response(null, { status: 404 });

  const outHeaders = copyHeaders(response.headers, {});
  // A body the gateway refuses unread (its size or length): the connection is closed after the
  // answer, so that the client reads the answer instead of a reset mid-body.
  if (refused) outHeaders.connection = 'close';
  if (!response.body || method === 'HEAD') {
    res.writeHead(response.status, outHeaders);
    await response.body?.cancel();
    res.end();
    return;
  }
  if (WHOLE.test(response.headers.get('content-type') ?? ''))
    return writeWhole(req, res, response.status, outHeaders, Buffer.from(await response.arrayBuffer()));
  const declared = response.headers.get('content-length');
  if (declared) outHeaders['content-length'] = declared;
  res.writeHead(response.status, outHeaders);
  // A client that went away ends the stream early: nothing to report.
  await pipeline(Readable.fromWeb(response.body as NodeReadableStream), res).catch(() => undefined);
}

/** A fetch answer's headers into Node's form (`into`), without those of one connection. */
function copyHeaders(
  from: Headers,
  into: Record<string, string | string[]>,
): Record<string, string | string[]> {
  for (const [name, value] of from) if (!HOP_BY_HOP.has(name)) into[name] = value;
  // getSetCookie keeps several cookies apart; the iteration above joins them into one header.
  const cookies = from.getSetCookie();
  if (cookies.length) into['set-cookie'] = cookies;
  return into;
}

/** An answer written whole, with its length; gzipped when the client takes it and it is over 1 KiB. */
async function writeWhole(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  outHeaders: Record<string, string | string[]>,
  answer: Buffer,
): Promise<void> {
  let body = answer;
  if (body.length >= GZIP_FROM_BYTES && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    body = await gzipAsync(body, { level: 1 });
    outHeaders['content-encoding'] = 'gzip';
    outHeaders.vary = outHeaders.vary ? `${String(outHeaders.vary)}, accept-encoding` : 'accept-encoding';
  }
  outHeaders['content-length'] = String(body.length);
  res.writeHead(status, outHeaders);
  res.end(body);
}

/**
 * An agent's heartbeat as answerHeartbeat takes it: a POST of JSON to its path, of a declared length
 * within the limit, asking for no stream. Anything else about it goes the fetch way (tRPC's answer
 * to a malformed one is the one to give).
 */
function isHeartbeatCall(req: IncomingMessage): boolean {
  const { headers } = req;
  const declared = headers['content-length'];
  return (
    req.method === 'POST' &&
    req.url === HEARTBEAT_PATH &&
    isJsonCall(headers['content-type']) &&
    headers['trpc-accept'] === undefined &&
    !(headers.accept ?? '').includes('application/jsonl') &&
    declared !== undefined &&
    /^\d+$/.test(declared) &&
    Number(declared) <= MAX_BODY_BYTES
  );
}

/** A request's body read whole (its declared length was checked). */
async function wholeBody(req: IncomingMessage): Promise<Buffer<ArrayBuffer>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A Node request's headers as a fetch Headers' get() reads them, with the peer from the socket under
 * the peer headers (whatever the client sent under those names is not read).
 */
function nodeHeaders(req: IncomingMessage, peer: Peer): HeaderSource {
  return {
    get(name) {
      const key = name.toLowerCase();
      if (key === PEER_HEADER) return peer.address;
      if (key === PEER_PROTO_HEADER) return peer.https ? 'https' : 'http';
      const value = req.headers[key];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}
