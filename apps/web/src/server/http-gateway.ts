import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import {
  exchange,
  installScript,
  releaseFile,
  serverCertificate,
  supported,
} from './agent-install-routes.ts';
import {
  CHANNEL_ROUTE,
  handleAgentChannel,
  handleAgentPackage,
  PACKAGE_ROUTE,
} from './agents/dial-out/channel-route.ts';
import { logServerError } from './database-errors.ts';
import { batchRefusal, bodyRefusal, refusalResponse, UPLOAD_PATH } from './http-limits.ts';
import { handlePackageUpload } from './package-upload.ts';
import { appRouter } from './routers/index.ts';
import type { ControlPlane } from './services/control-plane.ts';
import { createContext } from './trpc.ts';
import { API_CSP, secured } from '../shared/security-headers.ts';

/**
 * The control plane's HTTP routes other than pages, in one table: the tRPC API (the dashboard's reads
 * and actions, agents' heartbeats), package uploads, dial-out channels and packages, and the agent
 * install routes. Served before Next by the web server (scripts/serve.ts), alone by the standalone
 * server (tests, benches), and through Next's route files under `next dev` or a bare `next start`:
 * each of those only adapts its request to this.
 */
export const TRPC_ENDPOINT = '/api/trpc';

type Handler = (cp: ControlPlane, req: Request, signal: AbortSignal) => Promise<Response>;

interface Route {
  readonly method: 'GET' | 'POST';
  readonly handle: Handler;
}

const EXACT: ReadonlyMap<string, Route> = new Map<string, Route>([
  ['/healthz', { method: 'GET', handle: async () => Response.json({ ok: true }) }],
  [UPLOAD_PATH, { method: 'POST', handle: (cp, req) => handlePackageUpload(cp, req) }],
  [CHANNEL_ROUTE, { method: 'GET', handle: (cp, req, signal) => handleAgentChannel(cp, req, signal) }],
  ['/agent/install.sh', { method: 'GET', handle: (cp, req) => installScript(cp, req) }],
  ['/agent/supported', { method: 'GET', handle: (cp, req) => supported(cp, req) }],
  ['/agent/ca.pem', { method: 'GET', handle: (cp) => serverCertificate(cp) }],
  ['/agent/exchange', { method: 'POST', handle: (cp, req) => exchange(cp, req) }],
]);

const FILES_ROUTE = '/agent/files/';

/** The route for a path, or undefined when the path is a page's (Next's) or no one's. */
function routeOf(pathname: string): Route | undefined {
  const exact = EXACT.get(pathname);
  if (exact) return exact;
  if (pathname.startsWith(`${TRPC_ENDPOINT}/`)) return TRPC;
  if (pathname.startsWith(PACKAGE_ROUTE)) return PACKAGE;
  if (pathname.startsWith(FILES_ROUTE) && pathname.indexOf('/', FILES_ROUTE.length) === -1) return FILES;
  return undefined;
}

const TRPC: Route = {
  method: 'POST',
  handle: (cp, req) =>
    fetchRequestHandler({
      endpoint: TRPC_ENDPOINT,
      req,
      router: appRouter,
      createContext: ({ resHeaders }) => createContext(cp, req.headers, resHeaders),
      onError: logServerError,
    }),
};
const PACKAGE: Route = { method: 'GET', handle: (cp, req) => handleAgentPackage(cp, req) };
const FILES: Route = {
  method: 'GET',
  handle: (cp, req) => {
    const raw = new URL(req.url).pathname.slice(FILES_ROUTE.length);
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      return Promise.resolve(refusalResponse({ status: 400, error: 'The file name is not valid.' }));
    }
    return releaseFile(cp, name);
  },
};

/** Whether `pathname` is one of the gateway's (the web server hands every other path to Next). */
export function isGatewayPath(pathname: string): boolean {
  return routeOf(pathname) !== undefined;
}

/**
 * The answer to a request for one of the gateway's paths, with the security headers and a CSP that
 * allows nothing; undefined for any other path. Bodies over the limit and over-long tRPC batches are
 * refused before anything reads them. The client's address comes from the peer headers every server
 * writes from the socket (node-http-gateway.ts; stampPeers() for Next), replacing any a client sent.
 */
export async function gatewayResponse(
  cp: ControlPlane,
  req: Request,
  signal: AbortSignal,
): Promise<Response | undefined> {
  const { pathname } = new URL(req.url);
  const route = routeOf(pathname);
  if (!route) return undefined;
  return secured(await answer(route, pathname, cp, req, signal), API_CSP);
}

async function answer(
  route: Route,
  pathname: string,
  cp: ControlPlane,
  req: Request,
  signal: AbortSignal,
): Promise<Response> {
  // tRPC answers GET (queries) and POST (mutations, batches) itself; every other route takes one
  // method, and a GET route HEAD too (the server sends the headers alone).
  const method = req.method === 'HEAD' && route.method === 'GET' ? 'GET' : req.method;
  const allowed = route === TRPC ? method === 'GET' || method === 'POST' : method === route.method;
  if (!allowed) {
    const response = refusalResponse({
      status: 405,
      error: `Use ${route === TRPC ? 'GET or POST' : route.method}.`,
    });
    response.headers.set('allow', route === TRPC ? 'GET, POST' : route.method);
    return response;
  }
  const refusal = bodyRefusal(req.method, pathname, req.headers) ?? batchRefusal(pathname, TRPC_ENDPOINT);
  if (refusal) return refusalResponse(refusal);
  return route.handle(cp, req, signal);
}
