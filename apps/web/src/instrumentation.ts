/** Starts the control plane (migrations, first admin, job runner) when the server starts, not on the first request. */
export async function register() {
  // Next's own switch, replaced at build time per runtime so that the edge bundle leaves the Node-only
  // control plane out; not configuration, so not in env.ts.
  // eslint-disable-next-line no-restricted-properties
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    // Before anything else: the peer of every request from now on (sign-in limits, Secure cookies).
    const { stampPeers } = await import('./server/security/request-origin.ts');
    stampPeers();
    const { EnvError } = await import('@binfleet/env');
    // A package that checks its environment when it loads (packages/db) throws before instance.ts can.
    const instance = await import('./server/instance.ts').catch((error: unknown) => {
      if (!(error instanceof EnvError)) throw error;
      console.error(`binfleet: ${error.message}`);
      process.exit(1);
    });
    await instance.controlPlane();
  }
}
