/**
 * The agent's environment, read in one place (the rest of the code gets values passed in).
 * QEMU_BIN_DIR and HOST_ARCH keep the meaning they have in the seed image and qemu's script.
 */
export interface AgentEnv {
  /** Seed: where the emulators live (default /usr/bin). */
  readonly qemuBinDir?: string;
  /** qemu-binfmt-conf.sh: the host architecture to generate for, instead of `uname -m`. */
  readonly hostArch?: string;
  readonly binfmtMount?: string;
  readonly stateDir?: string;
  readonly probeDir?: string;
  readonly verifyImage?: string;
  readonly dockerSocket?: string;
  /** Static busybox for the register images this host builds. */
  readonly busybox?: string;
  /** Where the binfmt_misc lock shared by `serve` and the CLI lives (default /run/binfleet). */
  readonly lockDir?: string;
}

const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

export function readEnv(env: NodeJS.ProcessEnv = process.env): AgentEnv {
  const pick = (name: string) => nonEmpty(env[name]);
  const out: Record<string, string | undefined> = {
    qemuBinDir: pick('QEMU_BIN_DIR'),
    hostArch: pick('HOST_ARCH'),
    binfmtMount: pick('BINFLEET_BINFMT_MOUNT'),
    stateDir: pick('BINFLEET_STATE_DIR'),
    probeDir: pick('BINFLEET_PROBE_DIR'),
    verifyImage: pick('BINFLEET_VERIFY_IMAGE'),
    dockerSocket: pick('BINFLEET_DOCKER_SOCKET'),
    busybox: pick('BINFLEET_BUSYBOX'),
    lockDir: pick('BINFLEET_LOCK_DIR'),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as AgentEnv;
}

/** Reads a secret from the environment once and removes it, so child processes never inherit it. */
export function takeSecretEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = nonEmpty(env[name]);
  delete env[name];
  return value;
}
