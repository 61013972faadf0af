import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { logServerError } from './database-errors.ts';
import { handlePackageUpload } from './package-upload.ts';
import { appRouter } from './routers/index.ts';
import type { ControlPlane } from './services/control-plane.ts';
import { createContext } from './trpc.ts';

// Same limit as a Next route would need: heartbeats carry facts and entries, nothing more.
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The control plane's API on a plain Node HTTP server, without Next: the same router, context and
 * services. Integration tests and the fleet benches run it as a process they can kill -9.
 */
export function createStandaloneServer(cp: ControlPlane): Server {
  return createServer((req, res) => {
    handle(cp, req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: error.message }));
    });
  });
}

async function handle(cp: ControlPlane, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
  if (url.pathname === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    return;
  }
  const isUpload = url.pathname === '/api/packages';
  if (!url.pathname.startsWith('/api/trpc/') && !isUpload) {
    res.writeHead(404).end();
    return;
  }
  // Uploads stream to disk under their own limit (PackageService).
  if (!isUpload && Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
    res.writeHead(413, { 'content-type': 'application/json' }).end('{"error":"request body too large"}');
    return;
  }
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const request = new Request(url, {
    method: req.method ?? 'GET',
    headers,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
  } as RequestInit);
  const response = isUpload
    ? await handlePackageUpload(cp, request)
    : await fetchRequestHandler({
        endpoint: '/api/trpc',
        req: request,
        router: appRouter,
        createContext: ({ resHeaders }) =>
          createContext(cp, request, resHeaders, req.socket.remoteAddress ?? 'unknown'),
        onError: logServerError,
      });
  const outHeaders: Record<string, string | string[]> = Object.fromEntries(response.headers);
  // getSetCookie keeps several cookies apart; Object.fromEntries would merge them.
  const cookies = response.headers.getSetCookie();
  if (cookies.length) outHeaders['set-cookie'] = cookies;
  res.writeHead(response.status, outHeaders);
  if (response.body) {
    for await (const chunk of Readable.fromWeb(response.body as import('node:stream/web').ReadableStream))
      res.write(chunk);
  }
  res.end();
}
