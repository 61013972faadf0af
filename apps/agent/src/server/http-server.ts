import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { PassThrough } from 'node:stream';
import type { AgentErrorData } from '@binfleet/agent-contract';
import { isSha256, type PackageStore } from '@binfleet/deb';
import { TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { AgentError, isAgentError } from '../errors.ts';
import type { AgentService } from '../services/agent-service.ts';
import type { BearerAuth } from './bearer-auth.ts';
import { agentRouter } from './router.ts';

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

export interface AgentHttpServerOptions {
  readonly agent: AgentService;
  readonly auth: BearerAuth;
  readonly version: string;
  /** PEM certificate and key: serve HTTPS instead of HTTP. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly maxBodyBytes?: number;
  /** Where `PUT /packages/<sha256>` stores packages for builds; without it the route answers 404. */
  readonly packages?: PackageStore;
  /** Called with requests that failed inside the agent (5xx), for the service log. */
  readonly onError?: (error: unknown) => void;
}

/**
 * The agent's HTTP front: `GET /healthz` for anyone, tRPC under `/trpc` and package uploads under
 * `/packages/<sha256>` (streamed to disk, outside tRPC's body limit) for holders of the token.
 * Everything a request can do wrong before a procedure runs (no or wrong token, body too large,
 * body or input not JSON) is answered here, in the same error shape tRPC uses, so typed clients
 * show the message.
 */
export function createAgentHttpServer(options: AgentHttpServerOptions): http.Server {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const trpc = createHTTPHandler({
    router: agentRouter,
    basePath: '/trpc/',
    createContext: () => ({ agent: options.agent, authenticated: true }),
    onError: ({ error }) => {
      if (getHTTPStatusCodeFromError(error) >= 500) options.onError?.(error.cause ?? error);
    },
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    if (url.pathname === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return sendJson(res, 405, { ok: false, error: 'Use GET /healthz.' });
      return sendJson(res, 200, { ok: true, version: options.version });
    }
    if (url.pathname.startsWith('/packages/')) return handlePackage(req, res, url, options);
    if (!url.pathname.startsWith('/trpc/')) {
      return sendJson(res, 404, {
        ok: false,
        error: `Nothing at ${url.pathname}: the API is under /trpc, packages under /packages, health at /healthz.`,
      });
    }
    // Answered before the body is read: the rest of it is discarded, not left unread, or a client
    // still sending would see EPIPE instead of this answer.
    const refuse = (code: TRPC_ERROR_CODE_KEY, message: string, headers?: http.OutgoingHttpHeaders) => {
      sendTrpcError(res, url, code, message, headers);
      discardRest(req);
    };

    if (!options.auth.accepts(req.headers.authorization)) {
      return refuse('UNAUTHORIZED', 'Missing or wrong token: send Authorization: Bearer <agent token>.', {
        'www-authenticate': 'Bearer realm="binfleet-agent"',
      });
    }
    const tooLarge = () =>
      refuse(
        'PAYLOAD_TOO_LARGE',
        `The request body is larger than ${maxBodyBytes} bytes: send less at once.`,
      );
    if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) return tooLarge();
    const body = await readBody(req, maxBodyBytes);
    if (body === undefined) return tooLarge();

    const text = body.toString('utf8');
    const malformed = [
      text === '' ? undefined : jsonError(text, 'request body'),
      url.searchParams.has('input')
        ? jsonError(url.searchParams.get('input')!, '`input` query parameter')
        : undefined,
    ].find((m) => m !== undefined);
    if (malformed) return sendTrpcError(res, url, 'PARSE_ERROR', malformed);

    // The adapter takes a body that was already read from `req.body`.
    (req as IncomingMessage & { body?: string }).body = text === '' ? undefined : text;
    trpc(req, res);
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      options.onError?.(error);
      if (!res.headersSent)
        sendJson(res, 500, { ok: false, error: 'Internal error in the agent; see its log.' });
      else res.destroy();
    });
  };
  return options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : http.createServer(listener);
}

/**
 * `PUT /packages/<sha256>` stores a package for builds (201 new, 200 kept already); `GET` tells
 * whether it is here. The token is checked and the declared size compared with the limit before a
 * byte of the body is read; the body is hashed while it streams to disk and kept only if it matches.
 */
async function handlePackage(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  options: AgentHttpServerOptions,
): Promise<void> {
  const refuse = (status: number, error: string, headers?: http.OutgoingHttpHeaders) => {
    sendJson(res, status, { ok: false, error }, headers);
    discardRest(req);
  };
  if (!options.auth.accepts(req.headers.authorization)) {
    return refuse(401, 'Missing or wrong token: send Authorization: Bearer <agent token>.', {
      'www-authenticate': 'Bearer realm="binfleet-agent"',
    });
  }
  const sha256 = url.pathname.slice('/packages/'.length);
  if (!isSha256(sha256))
    return refuse(400, 'Name the package by its sha256: /packages/<64 lower-case hex digits>.');
  const store = options.packages;
  if (!store) return refuse(404, 'This agent keeps no packages: it does not run builds.');
  if (req.method === 'GET' || req.method === 'HEAD') {
    const found = await store.get(sha256);
    return found
      ? sendJson(res, 200, { ok: true, sha256, size: found.size })
      : sendJson(res, 404, { ok: false, error: `No package ${sha256} here: PUT it first.` });
  }
  if (req.method !== 'PUT') return refuse(405, 'Use PUT /packages/<sha256> with the .deb as the body.');
  const tooLarge = `The package is larger than this builder accepts (${store.maxBytes} bytes): raise its --max-package-size.`;
  if (Number(req.headers['content-length'] ?? 0) > store.maxBytes) return refuse(413, tooLarge);
  // Through a PassThrough: a refused body stops being stored without destroying the connection,
  // so the client still reads the answer.
  const body = new PassThrough();
  req.once('close', () => {
    if (!req.complete)
      body.destroy(new AgentError('INVALID_PACKAGE', 'The upload was cut before its end: send it again.'));
  });
  req.pipe(body);
  try {
    const stored = await store.receive(body, sha256);
    sendJson(res, stored.created ? 201 : 200, { ok: true, sha256, size: stored.size });
  } catch (error) {
    req.unpipe(body);
    if (!isAgentError(error)) throw error;
    if (error.code === 'TOO_LARGE') return refuse(413, tooLarge);
    if (error.code === 'INVALID_PACKAGE' || error.code === 'INVALID_INPUT') return refuse(400, error.message);
    throw error;
  }
}

/** How long a refused request may go on sending before its connection is cut. */
const DISCARD_MS = 10_000;

function discardRest(req: IncomingMessage): void {
  if (req.complete) return;
  const cut = setTimeout(() => req.destroy(), DISCARD_MS);
  req.once('end', () => clearTimeout(cut));
  req.once('close', () => clearTimeout(cut));
  req.resume();
}

/** The body, or undefined as soon as it grows past the limit (the rest is never buffered). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      resolve(undefined);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function jsonError(text: string, where: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return `Malformed JSON in the ${where} (${(error as Error).message}): send the procedure input as JSON.`;
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

/**
 * An error in tRPC's own response shape: one envelope, or one per procedure of a batch
 * (`/trpc/a,b?batch=1`), which is what httpBatchLink expects.
 */
function sendTrpcError(
  res: ServerResponse,
  url: URL,
  code: TRPC_ERROR_CODE_KEY,
  message: string,
  headers: http.OutgoingHttpHeaders = {},
): void {
  const httpStatus = getHTTPStatusCodeFromError(new TRPCError({ code }));
  const paths = url.pathname.slice('/trpc/'.length).split(',');
  const envelope = (path: string) => ({
    error: {
      message,
      code: TRPC_ERROR_CODES_BY_KEY[code],
      data: { code, httpStatus, path, agentCode: null, details: null } satisfies AgentErrorData,
    },
  });
  const body = url.searchParams.get('batch') === '1' ? paths.map(envelope) : envelope(paths[0]!);
  sendJson(res, httpStatus, body, headers);
}
