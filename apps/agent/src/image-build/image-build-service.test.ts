import { encodeRegisterLine, makeTagSet, targetRegisterSpec, type TargetId } from '@binfleet/arch-table';
import type { QemuPackage } from '@binfleet/deb';
import { describe, expect, it } from 'vitest';
import type {
  BuildImageOptions,
  DockerClient,
  ImageClient,
  ImageFacts,
  PushImageOptions,
  RunOnceOptions,
  RunOnceResult,
} from '../adapters/docker-client.ts';
import { AgentError } from '../errors.ts';
import { fakeElfOf, FakeHostOs } from '../testing/fake-host-os.ts';
import { MemoryBinfmtFs } from '../testing/memory-binfmt-fs.ts';
import type { BuildEvent, BuildRequest } from './build-report.ts';
import { ImageBuildService } from './image-build-service.ts';
import { OperationLock } from '../services/operation-lock.ts';

const TARGETS: TargetId[] = ['arm', 's390x', 'aarch64', 'x86_64'];
const PACKAGE: QemuPackage = {
  path: '/debs/qemu-user-static_1%3a7.2+dfsg-7_amd64.deb',
  sha256: 'ab'.repeat(32),
  size: 1234,
  name: 'qemu-user-static',
  version: '1:7.2+dfsg-7',
  architecture: 'amd64',
  fromArch: 'x86_64',
  upstreamVersion: '7.2',
  emulators: TARGETS.map((t) => `qemu-${t}-static`),
  targets: TARGETS,
};
const REQUEST: BuildRequest = {
  packagePath: PACKAGE.path,
  registry: '127.0.0.1:5000',
  repository: 'test/qemu-user-static',
  testImage: 'arm64v8/busybox',
};
const EXPECTED_TAGS = makeTagSet({
  version: '7.2.dfsg-7',
  hosts: [{ debianArch: 'amd64', targets: TARGETS }],
}).map((t) => t.tag);

/**
 * dockerd, with containers that do what the real images do to binfmt_misc: the register images
 * register qemu-aarch64 (F with -p yes) after removing qemu-* entries with --reset.
 */
class FakeDocker implements DockerClient, ImageClient {
  readonly built: BuildImageOptions[] = [];
  readonly pushed: string[] = [];
  readonly removed: string[] = [];
  readonly runs: RunOnceOptions[] = [];
  private readonly ids = new Map<string, string>();
  refusePrivileged = false;
  unamePrints = 'aarch64';
  failPushOnce = new Set<string>();
  /** Resolves builds only when released (to catch a build mid-way). */
  gate: Promise<void> = Promise.resolve();

  constructor(private readonly binfmt: MemoryBinfmtFs) {}

  async info() {
    return { reachable: true, version: '20.10.24' };
  }
  async hasImage() {
    return true;
  }
  async buildImage(options: BuildImageOptions) {
    await this.gate;
    options.signal?.throwIfAborted();
    // The context must be a tar with the Dockerfile first; the rest (files on disk) is not read here.
    for await (const chunk of options.context as AsyncIterable<Buffer>) {
      expect(Buffer.from(chunk).subarray(0, 10).toString()).toBe('Dockerfile');
      break;
    }
    this.built.push(options);
    const id = `sha256:${String(this.built.length).padStart(64, '0')}`;
    for (const tag of options.tags) this.ids.set(tag, id);
    return { id };
  }
  async inspectImage(name: string): Promise<ImageFacts | undefined> {
    const id = this.ids.get(name) ?? name;
    return {
      id,
      os: 'linux',
      architecture: 'amd64',
      size: 100,
      created: '2026-01-01T00:00:00Z',
      repoDigests: [],
    };
  }
  async pushImage(options: PushImageOptions) {
    const ref = `${options.repository}:${options.tag}`;
    if (this.failPushOnce.delete(ref))
      throw new AgentError('DOCKER_FAILED', 'received unexpected HTTP status: 500');
    this.pushed.push(ref);
    return { digest: `sha256:${this.ids.get(ref)!.slice(7, 71).replace(/0/g, 'd')}` };
  }
  async removeImage(name: string) {
    this.removed.push(name);
    return true;
  }
  async runOnce(options: RunOnceOptions): Promise<RunOnceResult> {
    this.runs.push(options);
    const ok = (stdout: string): RunOnceResult => ({ exitCode: 0, stdout, stderr: '', timedOut: false });
    if (options.cmd.includes('--reset')) {
      if (options.privileged && this.refusePrivileged) {
        throw new AgentError('DOCKER_FAILED', 'unable to apply caps: operation not permitted');
      }
      if (!this.binfmt.mounted) await this.binfmt.mount();
      for (const name of await this.binfmt.list())
        if (name.startsWith('qemu-')) await this.binfmt.remove(name);
      const persistent = options.cmd.join(' ').includes('-p yes');
      const spec = targetRegisterSpec('aarch64', {
        interpreterDir: '/usr/bin',
        suffix: '-static',
        persistent,
      });
      await this.binfmt.register(encodeRegisterLine(spec));
      return ok('Setting /usr/bin/qemu-aarch64-static as binfmt interpreter for aarch64\n');
    }
    if (options.cmd[1] === '--version') return ok('qemu-aarch64 version 7.2.22 (Debian 1:7.2+dfsg-7)\n');
    if (options.cmd[0] === 'uname') return ok(`${this.unamePrints}\n`);
    return { exitCode: 127, stdout: '', stderr: 'unexpected command', timedOut: false };
  }
}

function setup(options: { mounted?: boolean; pkg?: QemuPackage } = {}) {
  const binfmt = new MemoryBinfmtFs();
  binfmt.mounted = options.mounted ?? true;
  const docker = new FakeDocker(binfmt);
  const os = new FakeHostOs();
  os.files.set(PACKAGE.path, { content: 'deb' });
  os.files.set('/bin/busybox', { content: fakeElfOf('x86_64') });
  const lock = new OperationLock();
  const service = new ImageBuildService({
    docker,
    machineBinfmt: binfmt,
    lock,
    lockWaitMs: 1000,
    hostArch: 'x86_64',
    testImageTemplate: '{official}/busybox',
    os,
    packages: { read: async () => options.pkg ?? PACKAGE, extract: async () => undefined },
  });
  return { binfmt, docker, os, lock, service };
}

describe('ImageBuildService', () => {
  it('builds every tag of the scheme, checks the seed way, pushes, and puts binfmt_misc back', async () => {
    const { binfmt, docker, service } = setup();
    await binfmt.register(':python3:E::py::/usr/bin/python3:');
    const before = new Map(binfmt.entries);
    docker.failPushOnce.add('127.0.0.1:5000/test/qemu-user-static:x86_64-s390x-7.2.dfsg-7');
    const events: BuildEvent[] = [];

    const report = await service.run(REQUEST, (e) => events.push(e));

    expect(report.error).toBeUndefined();
    expect(report.status).toBe('succeeded');
    expect(report.steps.every((s) => s.status === 'succeeded')).toBe(true);
    expect(report.tags.map((t) => t.tag).sort()).toEqual([...EXPECTED_TAGS].sort());
    expect(report.tags.every((t) => t.digest?.startsWith('sha256:'))).toBe(true);
    // Pair images share a digest across their names; the full image is built FROM the register image.
    const byTag = new Map(report.tags.map((t) => [t.tag, t]));
    expect(byTag.get('aarch64')!.digest).toBe(byTag.get('x86_64-aarch64-7.2.dfsg-7')!.digest);
    expect(byTag.get('latest')!.digest).toBe(byTag.get('7.2.dfsg-7')!.digest);
    expect(docker.built.map((b) => b.tags[0])).toContain('127.0.0.1:5000/test/qemu-user-static:register');
    expect(
      docker.built.every((b) => b.platform === 'linux/amd64' || b.tags[0]!.startsWith('binfleet-build/')),
    ).toBe(true);
    expect(docker.built[0]!.labels).toMatchObject({ 'io.binfleet.package.sha256': PACKAGE.sha256 });

    expect(report.checks.map((c) => [c.name, c.status, c.output])).toEqual([
      [
        ':aarch64 runs qemu-aarch64-static --version',
        'pass',
        'qemu-aarch64 version 7.2.22 (Debian 1:7.2+dfsg-7)',
      ],
      [':7.2.dfsg-7 --reset -p yes registers qemu-aarch64 with F', 'pass', 'flags: F'],
      ['a linux/arm64 container prints its uname -m', 'pass', 'aarch64'],
      [':register --reset registers qemu-aarch64 without flags', 'pass', 'flags: '],
      ['the integration image (arm64v8/busybox with qemu-aarch64-static) runs', 'pass', 'aarch64'],
    ]);
    expect(binfmt.mounted).toBe(true);
    expect(binfmt.entries).toEqual(before);
    expect(report.steps.find((s) => s.name === 'push')!.log).toContain('retrying');
    expect(docker.removed).toContain('127.0.0.1:5000/test/qemu-user-static:latest');
    expect(docker.removed).toContain(`binfleet-build/integration:${report.id}`);

    expect(
      events
        .filter((e) => e.type === 'step')
        .map((e) => e.type === 'step' && `${e.step.name}:${e.step.status}`),
    ).toEqual(
      [
        'read package',
        'extract',
        'build register images',
        'build emulator images',
        'test',
        'push',
        'clean up',
      ].flatMap((n) => [`${n}:running`, `${n}:succeeded`]),
    );
    expect(events.at(-1)).toMatchObject({ type: 'finished', report: { status: 'succeeded' } });
    expect(service.log(report.id).text).toContain('==> test\n');
    expect(service.log(report.id, 10).text).toBe(service.log(report.id).text.slice(10));
  });

  it('pushes nothing when a check fails, removes what it built and leaves binfmt_misc unmounted as it was', async () => {
    const { binfmt, docker, service } = setup({ mounted: false });
    docker.unamePrints = 'x86_64';

    const report = await service.run(REQUEST);

    expect(report.status).toBe('failed');
    expect(report.error).toMatch(/2 check\(s\) failed/);
    expect(report.steps.map((s) => s.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'succeeded',
      'failed',
      'cancelled',
      'succeeded',
    ]);
    expect(docker.pushed).toEqual([]);
    expect(new Set(docker.removed)).toEqual(new Set(docker.built.flatMap((b) => b.tags)));
    expect(binfmt.mounted).toBe(false);
    expect(binfmt.entries.size).toBe(0);
  });

  it('runs the register image with CAP_SYS_ADMIN where dockerd cannot apply --privileged', async () => {
    const { docker, service } = setup();
    docker.refusePrivileged = true;

    const report = await service.run(REQUEST);

    expect(report.status).toBe('succeeded');
    expect(report.checks[1]!.detail).toMatch(/with CAP_SYS_ADMIN/);
    const registerRuns = docker.runs.filter((r) => r.cmd.includes('--reset'));
    expect(registerRuns.map((r) => [r.privileged ?? false, r.capAdd ?? []])).toEqual([
      [true, []],
      [false, ['SYS_ADMIN']],
      [false, ['SYS_ADMIN']],
    ]);
  });

  it('runs one build at a time, and a cancelled one cleans up', async () => {
    const { docker, service, binfmt } = setup();
    let release!: () => void;
    docker.gate = new Promise((resolve) => (release = resolve));
    const started = await service.start(REQUEST);
    await expect(service.start(REQUEST)).rejects.toMatchObject({ code: 'BUSY' });

    service.cancel(started.id);
    release();
    await expect.poll(() => service.get(started.id).status).toBe('cancelled');
    const report = service.get(started.id);
    expect(report.error).toBe('Cancelled.');
    expect(report.steps.find((s) => s.name === 'clean up')!.status).toBe('succeeded');
    expect(docker.pushed).toEqual([]);
    expect(binfmt.mounted).toBe(true);
    // The builder is free again.
    await expect(service.start(REQUEST)).resolves.toMatchObject({ status: 'running' });
  });

  it('refuses bad input before or in its first step, with what to do', async () => {
    const { service, os } = setup();
    await expect(service.start({ ...REQUEST, packagePath: '/nope.deb' })).rejects.toMatchObject({
      code: 'INVALID_PACKAGE',
    });
    expect(() => service.get('nope')).toThrowError(/No build nope/);

    os.files.set('/bin/busybox', { content: fakeElfOf('aarch64') });
    const report = await service.run(REQUEST);
    expect(report.status).toBe('failed');
    expect(report.error).toMatch(/\/bin\/busybox is not a x86_64 executable/);
    expect(report.steps[0]!.status).toBe('failed');
  });

  it('refuses a package for another host unless the checks are skipped', async () => {
    const arm64 = { ...PACKAGE, architecture: 'arm64', fromArch: 'aarch64' as const };
    const { service: other, os } = setup({ pkg: arm64 });
    const refused = await other.run(REQUEST);
    expect(refused.error).toMatch(/package is for aarch64 but this builder is x86_64/);

    os.files.set('/bin/busybox', { content: fakeElfOf('aarch64') });
    const skipped = await other.run({ ...REQUEST, skipChecks: true });
    expect(skipped.status).toBe('succeeded');
    expect(skipped.tags.map((t) => t.tag)).toContain('aarch64-x86_64-7.2.dfsg-7');
    expect(skipped.tags.map((t) => t.tag)).not.toContain('aarch64');
    expect(skipped.steps.find((s) => s.name === 'test')!.log).toMatch(/skipped/);
  });
});
