import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { VerifyCheck, VerifyReport } from '@binfleet/agent-contract';
import {
  encodeEscapes,
  encodeRegisterLine,
  fromHex,
  parseEntryFile,
  targetRegisterSpec,
  TARGET_IDS,
  type KernelEntry,
  type TargetId,
} from '@binfleet/arch-table';
import { buildArm64Image, fixtures, startSandbox, type Sandbox } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelBinfmtFs } from '../adapters/kernel-binfmt-fs.ts';
import { nodeHostOs } from '../adapters/node-host-os.ts';
import { DockerodeClient } from '../adapters/dockerode-client.ts';
import { HostProbe } from '../host/host-probe.ts';
import type { SandboxVerifyRequest } from '../testing/sandbox-entry.ts';
import { RegistrationService } from './registration-service.ts';
import { VerifyService } from './verify-service.ts';

const AGENT = resolve(import.meta.dirname, '../..');
const ENTRY = join(AGENT, 'src/testing/sandbox-entry.ts');
const SEED = { interpreterDir: '/usr/bin', suffix: '-static', persistent: true } as const;
const NO_DOCKER = '/run/binfleet-test/no-docker.sock';

/** What each emulator reports as `uname -m` for the busybox fixtures of scripts/test-deps.sh. */
const PRINTS: Partial<Record<TargetId, string>> = {
  aarch64: 'aarch64',
  arm: 'armv7l',
  i386: 'i686',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  mips64el: 'mips64',
  riscv64: 'riscv64',
};
const PROBED = TARGET_IDS.filter((id) => id in PRINTS);

const summary = (checks: readonly VerifyCheck[]) =>
  checks.map((c) => [c.target, c.method, c.status, c.output]);
const timings = (checks: readonly VerifyCheck[]) =>
  checks.map((c) => `${c.target}/${c.method} ${c.durationMs} ms`).join(', ');

describe('verify inside a binfmt_misc sandbox (probes run in there)', () => {
  let sandbox: Sandbox;
  const register = (target: TargetId, interpreterOf: TargetId = target) => {
    const spec = targetRegisterSpec(target, SEED);
    const interpreter = targetRegisterSpec(interpreterOf, SEED).interpreter;
    writeFileSync(`${sandbox.hostMountPoint}/register`, encodeRegisterLine({ ...spec, interpreter }));
  };
  const write = (entry: string, value: string) => writeFileSync(`${sandbox.hostMountPoint}/${entry}`, value);
  const verify = async (
    request: Omit<SandboxVerifyRequest, 'mountPoint' | 'probeDir' | 'dockerSocket'> = {},
  ) => {
    const full: SandboxVerifyRequest = {
      mountPoint: sandbox.mountPoint,
      probeDir: fixtures().busyboxDir,
      dockerSocket: NO_DOCKER,
      ...request,
    };
    const run = await sandbox.exec('node', ['--import', 'tsx', ENTRY, 'verify', JSON.stringify(full)], {
      cwd: AGENT,
    });
    expect(run.stderr).toBe('');
    return JSON.parse(run.stdout) as VerifyReport;
  };

  beforeAll(async () => {
    sandbox = await startSandbox();
    for (const target of PROBED) register(target);
  });
  afterAll(() => sandbox?.stop());

  it("runs each registered target's real busybox through its emulator; without dockerd, containers are skipped", async () => {
    const report = await verify();
    console.info(`sandbox probes: ${timings(report.checks.filter((c) => c.method === 'probe'))}`);

    expect(summary(report.checks)).toEqual(
      PROBED.flatMap((target) => [
        [target, 'probe', 'pass', PRINTS[target]],
        [target, 'container', 'skipped', undefined],
      ]),
    );
    for (const check of report.checks.filter((c) => c.method === 'container')) {
      expect(check.detail).toMatch(/^dockerd is not reachable \(.*ENOENT.*no-docker\.sock\): start dockerd/);
    }
    expect(report.checks.find((c) => c.target === 'aarch64')!.detail).toBe(
      `${fixtures().busybox('arm64')} uname -m printed aarch64`,
    );
    expect(report.passed).toBe(true);
  });

  it('fails a target that is not registered, or disabled, with a plain reason', async () => {
    write('qemu-s390x', '0');
    try {
      const report = await verify({ targets: ['aarch64', 's390x', 'hppa'], methods: ['probe'] });
      expect(report.checks.map((c) => [c.target, c.status, c.detail])).toEqual([
        ['aarch64', 'pass', `${fixtures().busybox('arm64')} uname -m printed aarch64`],
        ['s390x', 'fail', 'qemu-s390x is disabled: enable it (binfleet-agent enable s390x).'],
        ['hppa', 'fail', 'qemu-hppa is not registered: register it (binfleet-agent register).'],
      ]);
      expect(report.passed).toBe(false);
    } finally {
      write('qemu-s390x', '1');
    }
  });

  it('fails a target whose entry hands its binaries to the wrong emulator', async () => {
    write('qemu-riscv64', '-1');
    register('riscv64', 'aarch64');
    try {
      const [check] = (await verify({ targets: ['riscv64'], methods: ['probe'] })).checks;
      expect(check).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/uname -m exited with \d+: .*ELF/i),
      });
    } finally {
      write('qemu-riscv64', '-1');
      register('riscv64');
    }
  });
});

describe('container check through the real dockerd (machine-wide binfmt_misc)', () => {
  // dockerd's containers use the machine's own binfmt_misc, not a sandbox's: this test registers
  // qemu-aarch64 there and puts everything back as it was.
  const realFs = new KernelBinfmtFs();
  const spec = targetRegisterSpec('aarch64', SEED);
  const IMAGE = 'binfleet-test/arm64-busybox:latest';
  const docker = new DockerodeClient();
  let mountedByUs = false;
  let previous: KernelEntry | undefined;
  let changed = false;

  beforeAll(async () => {
    if ((await new HostProbe(nodeHostOs).facts()).inUserNamespace) {
      throw new Error('this test must run in the initial user namespace: dockerd uses that binfmt_misc');
    }
    const info = await docker.info();
    if (!info.reachable)
      throw new Error(`dockerd not reachable (${info.error}): run bash scripts/test-deps.sh as root`);
    if (!(await realFs.isMounted())) {
      await realFs.mount();
      mountedByUs = true;
    }
    const text = await realFs.read(spec.name);
    previous = text === undefined ? undefined : parseEntryFile(spec.name, text);
    // An enabled entry with F already lets containers run arm64: use it as it is.
    if (!previous?.enabled || !previous.flags.includes('F')) {
      if (previous) await realFs.remove(spec.name);
      changed = true;
      await realFs.register(encodeRegisterLine(spec));
    }
    buildArm64Image(IMAGE);
  });

  afterAll(async () => {
    execFileSync('docker', ['rmi', '-f', IMAGE]);
    if (changed) {
      await realFs.remove(spec.name);
      if (previous) {
        await realFs.register(registerLineOf(previous));
        if (!previous.enabled) await realFs.setEnabled(previous.name, false);
      }
    }
    if (mountedByUs) execFileSync('umount', [realFs.mountPoint]);
  });

  it('runs uname -m in an arm64 container and gets aarch64', async () => {
    const verify = new VerifyService({
      registration: new RegistrationService(realFs, new HostProbe(nodeHostOs)),
      docker,
      os: nodeHostOs,
      probeDir: fixtures().busyboxDir,
      imageTemplate: 'binfleet-test/{debian}-busybox:latest',
    });
    const report = await verify.verify({ targets: ['aarch64'] });
    console.info(`real binfmt_misc: ${timings(report.checks)}`);
    expect(summary(report.checks)).toEqual([
      ['aarch64', 'probe', 'pass', 'aarch64'],
      ['aarch64', 'container', 'pass', 'aarch64'],
    ]);
    expect(report.checks[1]!.detail).toBe(`uname -m in ${IMAGE} (linux/arm64) printed aarch64`);
    expect(report.passed).toBe(true);
  });
});

/** The register line that recreates an entry read from the kernel (which shows magic and mask as hex). */
function registerLineOf(entry: KernelEntry): string {
  if (entry.type !== 'M') throw new Error(`${entry.name} is an extension entry: restore it by hand`);
  const mask = entry.mask === undefined ? '' : encodeEscapes(fromHex(entry.mask));
  return `:${entry.name}:M:${entry.offset}:${encodeEscapes(fromHex(entry.magic))}:${mask}:${entry.interpreter}:${entry.flags}`;
}
