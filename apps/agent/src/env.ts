import { hostArchOf, validateInterpreterDir } from '@binfleet/arch-table';
import { absolutePath, anyText, parseEnv, variable, type VariableSpec } from '@binfleet/env';
import * as z from 'zod/mini';
import { DEFAULT_MOUNT_POINT } from './adapters/binfmt-fs.ts';
import { DEFAULT_DOCKER_SOCKET } from './adapters/docker-client.ts';
import { DEFAULT_LOCK_DIR } from './adapters/flock-host-lock.ts';
import { DEFAULT_STATE_DIR } from './adapters/state-store.ts';
import { DEFAULT_IMAGE_TEMPLATE, validateImageTemplate } from './services/verify-image.ts';

/** A spec whose `check` throws for text that is not allowed (the arch table's and the agent's validators). */
const checkedBy = (allowed: string, check: (text: string) => unknown): VariableSpec<string> => ({
  allowed,
  parse: (text) => {
    try {
      check(text);
      return text;
    } catch {
      return undefined;
    }
  },
});

/**
 * The agent's environment, one line a variable (docs/agent.md and docs/cli.md say the same).
 * QEMU_BIN_DIR and HOST_ARCH keep the meaning they have in the seed image and qemu's script.
 */
const agentEnvSchema = z.object({
  QEMU_BIN_DIR: variable(
    checkedBy(
      'an absolute directory of letters, digits and . _ + , = @ % ~ - / (no spaces, quotes or :), e.g. /usr/bin',
      validateInterpreterDir,
    ),
    '/usr/bin',
  ),
  HOST_ARCH: variable(
    checkedBy(
      'a host architecture QEMU emulates, as uname -m or Debian names it (x86_64, aarch64, arm64, armhf, ppc64el, riscv64...)',
      hostArchOf,
    ),
  ),
  BINFLEET_BINFMT_MOUNT: variable(absolutePath, DEFAULT_MOUNT_POINT),
  BINFLEET_STATE_DIR: variable(anyText, DEFAULT_STATE_DIR),
  BINFLEET_PROBE_DIR: variable(anyText),
  BINFLEET_VERIFY_IMAGE: variable(
    checkedBy(
      `an image reference of letters, digits and . _ / : @ - with the placeholders {official}, {debian} or {target}, e.g. ${DEFAULT_IMAGE_TEMPLATE}`,
      validateImageTemplate,
    ),
    DEFAULT_IMAGE_TEMPLATE,
  ),
  BINFLEET_DOCKER_SOCKET: variable(anyText, DEFAULT_DOCKER_SOCKET),
  BINFLEET_BUSYBOX: variable(anyText, '/bin/busybox'),
  BINFLEET_LOCK_DIR: variable(anyText, DEFAULT_LOCK_DIR),
  // Set by systemd for the processes of a service: after an upgrade, its Restart= starts the agent again.
  INVOCATION_ID: variable(anyText),
  SYSTEMD_EXEC_PID: variable(anyText),
});

/** The agent's configuration from the environment; a command-line option, where there is one, wins. */
export interface AgentEnv {
  /** Seed: where the emulators live. */
  readonly qemuBinDir: string;
  /** qemu-binfmt-conf.sh: the host architecture to generate for, instead of `uname -m`. */
  readonly hostArch?: string;
  readonly binfmtMount: string;
  readonly stateDir: string;
  /** Static binaries for verify: `<dir>/<debian-arch>/busybox`. */
  readonly probeDir?: string;
  readonly verifyImage: string;
  readonly dockerSocket: string;
  /** Static busybox for the register images this host builds. */
  readonly busybox: string;
  /** Where the binfmt_misc lock shared by `serve` and the CLI lives. */
  readonly lockDir: string;
  /** The main process of a systemd service: an upgraded agent exits and systemd starts it again. */
  readonly underSystemd: boolean;
}

/**
 * Reads and checks the environment once, at start: a value that is not allowed throws an EnvError
 * naming it (the CLI exits 2 with it), never falls back to the default.
 */
export function readEnv(env: Readonly<Record<string, string | undefined>> = process.env): AgentEnv {
  const e = parseEnv(agentEnvSchema, env);
  return {
    qemuBinDir: e.QEMU_BIN_DIR,
    hostArch: e.HOST_ARCH,
    binfmtMount: e.BINFLEET_BINFMT_MOUNT,
    stateDir: e.BINFLEET_STATE_DIR,
    probeDir: e.BINFLEET_PROBE_DIR,
    verifyImage: e.BINFLEET_VERIFY_IMAGE,
    dockerSocket: e.BINFLEET_DOCKER_SOCKET,
    busybox: e.BINFLEET_BUSYBOX,
    lockDir: e.BINFLEET_LOCK_DIR,
    // Inherited by whatever a service starts: only its main process counts (systemd >= 248 names it;
    // older ones set INVOCATION_ID alone).
    underSystemd:
      e.SYSTEMD_EXEC_PID !== undefined
        ? e.SYSTEMD_EXEC_PID === String(process.pid)
        : e.INVOCATION_ID !== undefined,
  };
}

/** Reads a secret from the environment once and removes it, so child processes never inherit it. */
export function takeSecretEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name] === '' ? undefined : env[name];
  delete env[name];
  return value;
}

/**
 * Registry credentials for `binfleet-agent build` (CI), never from argv: BINFLEET_REGISTRY_USERNAME
 * with BINFLEET_REGISTRY_PASSWORD, or with BINFLEET_REGISTRY_PASSWORD_FILE naming a file that holds the
 * password (a CI secret mounted as a file). Both secrets are removed from the environment once read.
 */
export function takeRegistryCredentialsEnv(env: NodeJS.ProcessEnv = process.env): {
  readonly username?: string;
  readonly password?: string;
  readonly passwordFile?: string;
} {
  const username = env.BINFLEET_REGISTRY_USERNAME === '' ? undefined : env.BINFLEET_REGISTRY_USERNAME;
  const password = takeSecretEnv('BINFLEET_REGISTRY_PASSWORD', env);
  const passwordFile = takeSecretEnv('BINFLEET_REGISTRY_PASSWORD_FILE', env);
  return {
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(passwordFile ? { passwordFile } : {}),
  };
}
