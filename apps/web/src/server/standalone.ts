import { createServer, type Server } from 'node:http';
import { gatewayPathOf, serveGateway } from './node-http-gateway.ts';
import type { ControlPlane } from './services/control-plane.ts';
import { SECURITY_HEADERS } from '../shared/security-headers.ts';

/**
 * The control plane's HTTP gateway (http-gateway.ts: the API, uploads, agent routes) on a plain Node HTTP
 * server without pages: the same router, context and services as the web server. Integration tests
 * and the fleet benches run it as a process they can kill -9.
 */
export function createStandaloneServer(cp: ControlPlane): Server {
  return createServer((req, res) => {
    if (gatewayPathOf(req) === undefined) {
      res.writeHead(404, { ...SECURITY_HEADERS }).end();
      return;
    }
    void serveGateway(cp, req, res);
  });
}
