import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import {
  CHANNEL_ROUTE,
  handleAgentChannel,
  handleAgentPackage,
  PACKAGE_ROUTE,
} from './agents/dial-out/channel-route.ts';
import { logServerError } from './database-errors.ts';
import { batchRefusal, bodyRefusal, UPLOAD_PATH } from './http-limits.ts';
import { handlePackageUpload } from './package-upload.ts';
import { appRouter } from './routers/index.ts';
import { API_CSP, SECURITY_HEADERS } from '../shared/security-headers.ts';
import type { ControlPlane } from './services/control-plane.ts';
import { createContext } from './trpc.ts';

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
  const isUpload = url.pathname === UPLOAD_PATH;
  const isChannel = url.pathname === CHANNEL_ROUTE;
  const isPackage = url.pathname.startsWith(PACKAGE_ROUTE);
  if (!url.pathname.startsWith('/api/trpc/') && !isUpload && !isChannel && !isPackage) {
    res.writeHead(404).end();
    return;
  }
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
  const refusal = bodyRefusal(req.method ?? 'GET', url.pathname, headers) ?? batchRefusal(url.pathname);
  if (refusal) {
    res.writeHead(refusal.status, {
      ...SECURITY_HEADERS,
      'content-type': 'application/json',
      connection: 'close',
    });
    res.end(JSON.stringify({ error: { message: refusal.error } }));
    return;
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const request = new Request(url, {
    method: req.method ?? 'GET',
    headers,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
  } as RequestInit);
  // The channel lives until the agent goes: its end aborts the stream.
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  const response = isChannel
    ? await handleAgentChannel(cp, request, gone.signal)
    : isPackage
      ? await handleAgentPackage(cp, request)
      : isUpload
        ? await handlePackageUpload(cp, request)
        : await fetchRequestHandler({
            endpoint: '/api/trpc',
            req: request,
            router: appRouter,
            createContext: ({ resHeaders }) =>
              createContext(cp, request, resHeaders, {
                address: req.socket.remoteAddress ?? '',
                https: false,
              }),
            onError: logServerError,
          });
  const outHeaders: Record<string, string | string[]> = {
    ...Object.fromEntries(response.headers),
    ...SECURITY_HEADERS,
    'content-security-policy': API_CSP,
  };
  // getSetCookie keeps several cookies apart; Object.fromEntries would merge them.
  const cookies = response.headers.getSetCookie();
  if (cookies.length) outHeaders['set-cookie'] = cookies;
  res.writeHead(response.status, outHeaders);
  if (response.body) {
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
    gone.signal.addEventListener('abort', () => body.destroy(), { once: true });
    for await (const chunk of body) res.write(chunk);
  }
  res.end();
}
