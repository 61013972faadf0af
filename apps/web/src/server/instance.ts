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
