import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { isSha256, type PackageStore } from '@binfleet/deb';
import {
  callTRPCProcedure,
  getErrorShape,
  getTRPCErrorFromUnknown,
  TRPCError,
  type TRPC_ERROR_CODE_KEY,
  type TRPCProcedureType,
} from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { AgentError, isAgentError } from '../errors.ts';
import type { AgentService } from '../services/agent-service.ts';
import type { BearerAuth } from './bearer-auth.ts';
import { agentRouter } from './router.ts';
import type { AgentContext } from './trpc.ts';

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

/** The router's procedures by name (its table is flat: no nested routers). */
const PROCEDURES = agentRouter._def.procedures as Record<
  string,
  { readonly _def: { readonly type: TRPCProcedureType } }
>;
const CONFIG = agentRouter._def._config;

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
 * The agent's HTTP front: `GET /healthz` for anyone, the tRPC API under `/trpc` and package uploads
 * under `/packages/<sha256>` (streamed to disk, outside the API's body limit) for holders of the token.
 *
 * The API speaks tRPC's wire format as its httpLink client sends it, one call per request:
 * `GET /trpc/<procedure>?input=<JSON>` for queries, `POST /trpc/<procedure>` with a JSON body for
 * mutations; answers `{"result":{"data":...}}`, or `{"error":...}` in the router's own error shape
 * (trpc.ts's formatter) with tRPC's HTTP status for its code. Each call goes through the router's
 * procedure (`callTRPCProcedure`): the auth middleware, the contract's input and output parsers and
 * the one error translator run as before. Written on node:http rather than through tRPC's adapter,
 * which builds a Fetch Request (undici, ~10 MB resident once loaded) and streams for every call:
 * that was ~15% of an apply's CPU.
 */
export async function createAgentHttpServer(options: AgentHttpServerOptions): Promise<http.Server> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  // Only requests that passed the token check get this far (layer 1 in trpc.ts).
  const ctx: AgentContext = { agent: options.agent, authenticated: true };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const pathname = q < 0 ? target : target.slice(0, q);
    if (pathname === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return sendJson(res, 405, { ok: false, error: 'Use GET /healthz.' });
      return sendJson(res, 200, { ok: true, version: options.version });
    }
    if (pathname.startsWith('/packages/'))
      return handlePackage(req, res, new URL(target, 'http://agent'), options);
    if (!pathname.startsWith('/trpc/')) {
      return sendJson(res, 404, {
        ok: false,
        error: `Nothing at ${pathname}: the API is under /trpc, packages under /packages, health at /healthz.`,
      });
    }
    const path = pathname.slice('/trpc/'.length);
    const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
    const batch = query.get('batch') === '1';
    // Answered before the body is read: the rest of it is discarded, not left unread, or a client
    // still sending would see EPIPE instead of this answer.
    const refuse = (code: TRPC_ERROR_CODE_KEY, message: string, headers?: http.OutgoingHttpHeaders) => {
      sendTrpcError(res, path, batch, code, message, headers);
      discardRest(req);
    };

    if (!options.auth.accepts(req.headers.authorization)) {
      return refuse('UNAUTHORIZED', 'Missing or wrong token: send Authorization: Bearer <agent token>.', {
        'www-authenticate': 'Bearer realm="binfleet-agent"',
      });
    }
    if (batch)
      return refuse('BAD_REQUEST', 'Batched calls are not served: send one call per request (httpLink).');
    const procedure = Object.hasOwn(PROCEDURES, path) ? PROCEDURES[path] : undefined;
    if (procedure === undefined)
      return refuse(
        'NOT_FOUND',
        `No procedure ${path} on this agent: see @binfleet/agent-contract's agentApi.`,
      );
    const type = procedure._def.type;
    const method = type === 'mutation' ? 'POST' : 'GET';
    if (req.method !== method)
      return refuse('METHOD_NOT_SUPPORTED', `${path} is a ${type}: send it as ${method} /trpc/${path}.`);

    let text: string | null;
    let where: string;
    if (method === 'GET') {
      text = query.get('input');
      where = '`input` query parameter';
    } else {
      const contentType = req.headers['content-type']?.split(';', 1)[0]!.trim().toLowerCase();
      if (contentType !== 'application/json')
        return refuse(
          'UNSUPPORTED_MEDIA_TYPE',
          'Send the input as JSON, with Content-Type: application/json.',
        );
      const tooLarge = () =>
        refuse(
          'PAYLOAD_TOO_LARGE',
          `The request body is larger than ${maxBodyBytes} bytes: send less at once.`,
        );
      if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) return tooLarge();
      const body = await readBody(req, maxBodyBytes);
      if (body === undefined) return tooLarge();
      text = body.toString('utf8');
      where = 'request body';
    }
    let input: unknown;
    try {
      input = text ? JSON.parse(text) : undefined;
    } catch (error) {
      return sendTrpcError(
        res,
        path,
        false,
        'PARSE_ERROR',
        `Malformed JSON in the ${where} (${(error as Error).message}): send the procedure input as JSON.`,
      );
    }

    let data: unknown;
    try {
      data = await callTRPCProcedure({
        router: agentRouter,
        path,
        type,
        ctx,
        getRawInput: async () => input,
        signal: undefined,
        batchIndex: 0,
      });
    } catch (cause) {
      const error = getTRPCErrorFromUnknown(cause);
      const shape = getErrorShape({ config: CONFIG, error, type, path, input, ctx });
      if (shape.data.httpStatus >= 500) options.onError?.(error.cause ?? error);
      return sendJson(res, shape.data.httpStatus, { error: shape });
    }
    sendJson(res, 200, { result: { data } });
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      options.onError?.(error);
      if (!res.headersSent)
        sendJson(res, 500, { ok: false, error: 'Internal error in the agent; see its log.' });
      else res.destroy();
    });
  };
  // https (and TLS with it) loaded only for an agent that serves TLS.
  return options.tls
    ? (await import('node:https')).createServer({ cert: options.tls.cert, key: options.tls.key }, listener)
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

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void {
  // Encoded once: Buffer.byteLength of the string and then writing it would encode it twice.
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': payload.length,
    ...headers,
  });
  res.end(payload);
}

/**
 * A refusal before the procedure runs, in the router's error shape (trpc.ts's formatter): one
 * envelope, or one per procedure of a batch (`/trpc/a,b?batch=1`), which is what httpBatchLink expects.
 */
function sendTrpcError(
  res: ServerResponse,
  path: string,
  batch: boolean,
  code: TRPC_ERROR_CODE_KEY,
  message: string,
  headers: http.OutgoingHttpHeaders = {},
): void {
  const error = new TRPCError({ code, message });
  const envelope = (p: string) => ({
    error: getErrorShape({
      config: CONFIG,
      error,
      type: 'unknown',
      path: p,
      input: undefined,
      ctx: undefined,
    }),
  });
  sendJson(
    res,
    getHTTPStatusCodeFromError(error),
    batch ? path.split(',').map(envelope) : envelope(path),
    headers,
  );
}
