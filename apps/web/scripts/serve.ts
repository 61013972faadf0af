/**
 * The web server: the control plane's HTTP gateway (src/server/http-gateway.ts: the tRPC API that
 * the dashboard and every agent's heartbeat call, uploads, dial-out channels, agent install routes)
 * answered by this process directly, and every other path (pages, assets) handed to Next's request
 * handler for the built app (`next build` first). A request to the API no longer passes through
 * Next's routing, which cost each one ~1-4 ms of CPU, and a page's HTML is rendered once and then
 * served with a fresh CSP nonce (src/server/page-shells.ts; docs/operations.md). Plain HTTP, or HTTPS with
 * the control plane's own certificate when BINFLEET_TLS_CERT and BINFLEET_TLS_KEY are set.
 *   pnpm --filter @binfleet/web start [--port 3000] [--hostname 0.0.0.0]
 * PORT as for `next start` (the option wins); every address unless --hostname names one.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { parseArgs } from 'node:util';

// Next's and React's own switch, read when they load: set before either is imported.
(process.env as Record<string, string | undefined>).NODE_ENV ??= 'production';

const { values } = parseArgs({
  options: { port: { type: 'string', short: 'p' }, hostname: { type: 'string', short: 'H' } },
});
const port = Number(values.port ?? process.env.PORT ?? 3000);
// Every address (IPv4 and IPv6) unless --hostname names one, as `next start`; HOSTNAME is not read
// (containers set it to their own name).
const hostname = values.hostname;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`serve: the port must be a number from 0 to 65535, not ${values.port ?? port}.`);
  process.exit(2);
}

const { controlPlane, stopOnSignals } = await import('../src/server/instance.ts');
const { readWebConfig } = await import('../src/server/env.ts');
const { gatewayPathOf, serveGateway } = await import('../src/server/node-http-gateway.ts');
const { stampPeers } = await import('../src/server/security/request-origin.ts');
const { PageShells } = await import('../src/server/page-shells.ts');
const { newNonce } = await import('../src/shared/security-headers.ts');

// The one control plane of this process, started before Next: Next's instrumentation finds it on
// globalThis (instance.ts) and starts no other. A configuration that is not valid ends the process.
const cp = await controlPlane();
const tls = readWebConfig().tls;
// Pages learn their request's peer from headers, as under `next start`.
stampPeers();
const { default: next } = await import('next');
const dir = new URL('..', import.meta.url).pathname;
const app = next({ dev: false, dir, hostname: hostname ?? 'localhost', port });
await app.prepare();
const handleNext = app.getRequestHandler();
// Page HTML rendered once per page, then served with a fresh nonce each time (page-shells.ts).
const shells = new PageShells(PageShells.pathsOfBuild(dir), newNonce);

const listener = (req: IncomingMessage, res: ServerResponse) => {
  if (gatewayPathOf(req) !== undefined) {
    void serveGateway(cp, req, res);
    return;
  }
  const page = shells.pageOf(req);
  if (page === undefined) void handleNext(req, res);
  else void shells.serve(page, req, res, handleNext);
};
const server = tls
  ? createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, listener)
  : createHttpServer(listener);
// A port in use or not allowed ends the process (Next's handlers would log it and keep it running).
server.once('error', (error) => {
  console.error(`binfleet: cannot listen on ${hostname ?? '*'}:${port}: ${error.message}`);
  process.exit(1);
});
server.listen(port, hostname, () => {
  console.log(`binfleet control plane on ${tls ? 'https' : 'http'}://${hostname ?? '*'}:${port}`);
});

stopOnSignals(cp, server);
