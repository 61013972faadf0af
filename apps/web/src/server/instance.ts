import { EnvError } from '@binfleet/env';
import { readWebConfig, type WebConfig } from './env.ts';
import { startControlPlane, type ControlPlane } from './services/control-plane.ts';

// One control plane per server process. Next may evaluate this module more than once (route
// bundles, dev reloads), so the instance lives on globalThis.
const holder = globalThis as typeof globalThis & { __binfleet?: Promise<ControlPlane> };

export function controlPlane(): Promise<ControlPlane> {
  holder.__binfleet ??= startControlPlane(configOrExit());
  return holder.__binfleet;
}

/**
 * The configuration, or the end of the process. Next logs a failed start and goes on listening,
 * answering every request with an error; a configuration that is not valid must stop it instead.
 */
function configOrExit(): WebConfig {
  try {
    return readWebConfig();
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    console.error(`binfleet: ${error.message}`);
    process.exit(1);
  }
}

/**
 * Stops a server process's control plane on SIGTERM/SIGINT (the web and standalone servers): the
 * server stops taking connections, the runners and timers stop, the database is let go, the process
 * ends.
 */
export function stopOnSignals(
  cp: ControlPlane,
  server: { close(): unknown; closeIdleConnections?(): void },
): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // New connections refused, idle ones closed; requests under way go on while the runners stop.
    server.close();
    server.closeIdleConnections?.();
    await cp.runner.stop();
    await cp.buildRunner.stop();
    await cp.loginLimits.stop();
    await cp.reachability.stop();
    await cp.close();
    await cp.db.$disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}
