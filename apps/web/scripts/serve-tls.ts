/**
 * The control plane over HTTPS with its own certificate: `next start` speaks plain HTTP only, so this
 * serves the same built app (`next build`) through node:https. The other route is a TLS proxy in
 * front of `next start` (docs/control-plane.md); either way agents and install lines use https.
 *   BINFLEET_TLS_CERT=cert.pem BINFLEET_TLS_KEY=key.pem pnpm --filter @binfleet/web start:tls
 * PORT (3000) and HOSTNAME (0.0.0.0) as for `next start`.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import next from 'next';
import { readWebConfig } from '../src/server/env.ts';
import { stampPeers } from '../src/server/security/request-origin.ts';

const config = readWebConfig();
if (!config.tls) {
  console.error(
    'serve-tls: set BINFLEET_TLS_CERT and BINFLEET_TLS_KEY (PEM files), or run `next start` for plain HTTP.',
  );
  process.exit(2);
}
const port = Number(process.env.PORT ?? 3000);
const hostname = process.env.HOSTNAME ?? '0.0.0.0';
const app = next({ dev: false, dir: new URL('..', import.meta.url).pathname, hostname, port });
await app.prepare();
const handle = app.getRequestHandler();
// Every request carries its peer and that it came over https (sign-in limits, Secure cookies), as
// under `next start`; instrumentation does the same, this makes sure it is in place first.
stampPeers();
const server = createServer(
  { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) },
  (req, res) => {
    void handle(req, res);
  },
);
server.listen(port, hostname, () => console.log(`binfleet control plane on https://${hostname}:${port}`));
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
