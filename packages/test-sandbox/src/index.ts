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
export {
  AGENT_BUILD_INPUTS,
  WEB_BUILD_INPUTS,
  buildWhenStale,
  freePort,
  isStale,
  newestChange,
  underBuildLock,
} from './freshness.ts';
export {
  AGENT_BIN,
  AGENT_DIST,
  AGENT_LAUNCHER,
  AGENT_LAUNCHER_SNAPSHOTS,
  REPO,
  agentBundle,
  agentLauncher,
  kernelSnapshot,
  startAgent,
  type AgentProcess,
  type LogLine,
  type StartAgentOptions,
} from './agent-process.ts';
export { AGENT_PACKAGE_INPUTS, AGENT_RELEASE_DIR, ensureAgentRelease } from './agent-release.ts';
export { clockTicksPerSecond, cpuMs, onCpuMs, otherThreadsOnCpuMs } from './process-cpu.ts';
export { buildArm64Image } from './arm64-image.ts';
export {
  MACHINE_BINFMT,
  machineAarch64WithF,
  machineEntryUsable,
  setAsideMachineEntry,
  type MachineRegisterLines,
  expectMachineBinfmtAsBefore,
  machineBinfmtState,
  type MachineBinfmtState,
} from './machine-binfmt.ts';
export { FLAG_INJECTIONS, INJECTIONS, type Injection } from './injection-corpus.ts';
export {
  joinTestNetwork,
  startTestNetwork,
  type NetworkHost,
  type TestNetwork,
  type TestNetworkDescription,
} from './network.ts';
