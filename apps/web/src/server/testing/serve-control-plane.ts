// `tsx serve-control-plane.ts PORT [HOSTNAME]`: the control plane's API and job runner as a process of its own,
// configured by the same environment variables as the web app (DATABASE_URL, BINFLEET_*), started the
// same way (a configuration that is not valid ends it). Tests and benches run it bundled
// (controlPlaneBundle() in control-plane-process.ts).
import { controlPlane, stopOnSignals } from '../instance.ts';
import { createStandaloneServer } from '../standalone.ts';

const port = Number(process.argv[2] ?? 0);
const hostname = process.argv[3] ?? '127.0.0.1';
const cp = await controlPlane();
const server = createStandaloneServer(cp);
server.listen(port, hostname, () => {
  const address = server.address() as import('node:net').AddressInfo;
  console.log(
    JSON.stringify({ event: 'listening', url: `http://${hostname}:${address.port}`, runner: cp.runner.id }),
  );
});
stopOnSignals(cp, server);
