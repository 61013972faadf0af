import { EnvError } from '@binfleet/env';
import { describe, expect, it } from 'vitest';
import { readEnv, takeSecretEnv } from './env.ts';

const messageOf = (env: Record<string, string>) => {
  try {
    readEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as Error).message;
  }
  throw new Error('the environment was accepted');
};

describe('readEnv', () => {
  it('has the documented defaults, the same for unset and empty variables', () => {
    const defaults = {
      qemuBinDir: '/usr/bin',
      binfmtMount: '/proc/sys/fs/binfmt_misc',
      stateDir: '/var/lib/binfleet-agent',
      verifyImage: '{official}/busybox',
      dockerSocket: '/var/run/docker.sock',
      busybox: '/bin/busybox',
      lockDir: '/run/binfleet',
      underSystemd: false,
    };
    expect(readEnv({})).toEqual(defaults);
    expect(
      readEnv({ QEMU_BIN_DIR: '', HOST_ARCH: '', BINFLEET_PROBE_DIR: '', BINFLEET_VERIFY_IMAGE: '' }),
    ).toEqual(defaults);
  });

  it('takes every variable', () => {
    expect(
      readEnv({
        QEMU_BIN_DIR: '/opt/qemu/bin/',
        HOST_ARCH: 'arm64',
        BINFLEET_BINFMT_MOUNT: '/mnt/binfmt',
        BINFLEET_STATE_DIR: '/srv/agent',
        BINFLEET_PROBE_DIR: '/srv/probes',
        BINFLEET_VERIFY_IMAGE: 'registry.lan/{debian}/busybox:1.36',
        BINFLEET_DOCKER_SOCKET: '/run/docker.sock',
        BINFLEET_BUSYBOX: '/usr/lib/busybox',
        BINFLEET_LOCK_DIR: '/run/binfleet-test',
        INVOCATION_ID: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
        SYSTEMD_EXEC_PID: String(process.pid),
        BINFLEET_AGENT_TOKEN: 'not read here',
      }),
    ).toEqual({
      qemuBinDir: '/opt/qemu/bin/',
      hostArch: 'arm64',
      binfmtMount: '/mnt/binfmt',
      stateDir: '/srv/agent',
      probeDir: '/srv/probes',
      verifyImage: 'registry.lan/{debian}/busybox:1.36',
      dockerSocket: '/run/docker.sock',
      busybox: '/usr/lib/busybox',
      lockDir: '/run/binfleet-test',
      underSystemd: true,
    });
  });

  it('is the main process of a systemd service only when systemd names this process (or, before 248, sets INVOCATION_ID)', () => {
    expect(readEnv({ INVOCATION_ID: 'x', SYSTEMD_EXEC_PID: String(process.pid) }).underSystemd).toBe(true);
    // A process a service started (install.sh run from a unit, its background agent): not the service.
    expect(readEnv({ INVOCATION_ID: 'x', SYSTEMD_EXEC_PID: String(process.pid + 1) }).underSystemd).toBe(
      false,
    );
    expect(readEnv({ INVOCATION_ID: 'x' }).underSystemd).toBe(true);
    expect(readEnv({}).underSystemd).toBe(false);
  });

  const INTERPRETER_DIR =
    'an absolute directory of letters, digits and . _ + , = @ % ~ - / (no spaces, quotes or :), e.g. /usr/bin';
  const IMAGE =
    'an image reference of letters, digits and . _ / : @ - with the placeholders {official}, {debian} or {target}, e.g. {official}/busybox';
  it.each([
    ['QEMU_BIN_DIR', 'usr/bin', INTERPRETER_DIR],
    ['QEMU_BIN_DIR', '/usr/bin:/opt', INTERPRETER_DIR],
    ['QEMU_BIN_DIR', '/my qemu', INTERPRETER_DIR],
    [
      'HOST_ARCH',
      'pdp11',
      'a host architecture QEMU emulates, as uname -m or Debian names it (x86_64, aarch64, arm64, armhf, ppc64el, riscv64...)',
    ],
    ['BINFLEET_BINFMT_MOUNT', 'proc/sys/fs/binfmt_misc', 'an absolute path (starting with /)'],
    ['BINFLEET_VERIFY_IMAGE', '{arch}/busybox', IMAGE],
    ['BINFLEET_VERIFY_IMAGE', 'my image', IMAGE],
  ])('refuses %s=%j, saying what is allowed', (name, value, allowed) => {
    expect(messageOf({ [name]: value })).toBe(`${name}=${JSON.stringify(value)} is not valid: ${allowed}`);
  });
});

describe('takeSecretEnv', () => {
  it('gives the value once and removes it from the environment', () => {
    const env: NodeJS.ProcessEnv = { BINFLEET_AGENT_TOKEN: 'secret', OTHER: 'x' };
    expect(takeSecretEnv('BINFLEET_AGENT_TOKEN', env)).toBe('secret');
    expect(env).toEqual({ OTHER: 'x' });
    expect(takeSecretEnv('BINFLEET_AGENT_TOKEN', env)).toBeUndefined();
    const empty: NodeJS.ProcessEnv = { BINFLEET_AGENT_TOKEN: '' };
    expect(takeSecretEnv('BINFLEET_AGENT_TOKEN', empty)).toBeUndefined();
    expect(empty).toEqual({});
  });
});
