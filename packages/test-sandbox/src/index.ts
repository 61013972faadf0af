export {
  DEFAULT_MOUNT_POINT,
  hasSandboxSupport,
  startSandbox,
  type ExecOptions,
  type ExecResult,
  type Sandbox,
  type SandboxOptions,
  type SandboxSpawnOptions,
  type SandboxSupport,
} from './sandbox.ts';
export { fixtures, type DebianArch, type Fixtures } from './fixtures.ts';
export { CHROMIUM_ARGS, chromiumExecutable } from './chromium.ts';
export { WEB_BUILD_INPUTS, freePort, isStale, newestChange } from './freshness.ts';
