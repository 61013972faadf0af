import { readWebConfig } from './env.ts';
import { startControlPlane, type ControlPlane } from './services/control-plane.ts';

// One control plane per server process. Next may evaluate this module more than once (route
// bundles, dev reloads), so the instance lives on globalThis.
const holder = globalThis as typeof globalThis & { __binfleet?: Promise<ControlPlane> };

export function controlPlane(): Promise<ControlPlane> {
  holder.__binfleet ??= startControlPlane(readWebConfig());
  return holder.__binfleet;
}
