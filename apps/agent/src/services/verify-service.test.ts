import { expectedEntry, targetRegisterSpec, type KernelEntry, type TargetId } from '@binfleet/arch-table';
import { describe, expect, it } from 'vitest';
import type { DockerClient, DockerInfo, RunOnceOptions, RunOnceResult } from '../adapters/docker-client.ts';
import { AgentError } from '../errors.ts';
import { fakeElfOf, FakeHostOs } from '../testing/fake-host-os.ts';
import type { BinfmtStatus } from './registration-service.ts';
import { VerifyService, type VerifyServiceDeps } from './verify-service.ts';

const PROBES = '/fixtures/busybox';
const UNAME: Partial<Record<TargetId, string>> = {
  aarch64: 'aarch64',
  arm: 'armv7l',
  s390x: 's390x',
  mips64el: 'mips64',
};

function entry(target: TargetId, { enabled = true, persistent = true } = {}): KernelEntry {
  const spec = targetRegisterSpec(target, { interpreterDir: '/usr/bin', suffix: '-static', persistent });
  return { ...expectedEntry(spec), enabled };
}

function binfmt(
  entries: KernelEntry[],
  overrides: Partial<BinfmtStatus> = {},
): Pick<VerifyServiceDeps['registration'], 'status'> {
  const status: BinfmtStatus = {
    mountPoint: '/proc/sys/fs/binfmt_misc',
    mounted: true,
    writable: true,
    enabled: true,
    entries: entries.map((e) => ({ name: e.name, target: e.name.slice(5) as TargetId, entry: e })),
    ...overrides,
  };
  return { status: async () => status };
}

/** A host whose probe binaries print what the emulator of their target prints. */
function hostWithProbes(targets: TargetId[]): FakeHostOs {
  const os = new FakeHostOs();
  const debian: Partial<Record<TargetId, string>> = {
    aarch64: 'arm64',
    arm: 'armhf',
    s390x: 's390x',
    mips64el: 'mips64el',
  };
  for (const target of targets) {
    const path = `${PROBES}/${debian[target]}/busybox`;
    os.files.set(path, { content: fakeElfOf(target) });
    os.programs.set(path, () => ({ exitCode: 0, stdout: `${UNAME[target]}\n`, stderr: '', timedOut: false }));
  }
  return os;
}

class FakeDocker implements DockerClient {
  readonly runs: RunOnceOptions[] = [];
  infoCalls = 0;
  constructor(
    private readonly reply: (options: RunOnceOptions) => RunOnceResult = (o) => ({
      exitCode: 0,
      stdout: `${UNAME[o.image.includes('arm64') ? 'aarch64' : 's390x']}\n`,
      stderr: '',
      timedOut: false,
    }),
    private readonly state: DockerInfo = { reachable: true, version: '20.10.24', apiVersion: '1.41' },
  ) {}
  info = async () => {
    this.infoCalls++;
    return this.state;
  };
  hasImage = async () => true;
  async runOnce(options: RunOnceOptions): Promise<RunOnceResult> {
    this.runs.push(options);
    return this.reply(options);
  }
}

const unreachable = new FakeDocker(undefined, { reachable: false, error: 'connect ENOENT /nowhere.sock' });

function service(deps: Partial<VerifyServiceDeps> & Pick<VerifyServiceDeps, 'registration'>): VerifyService {
  return new VerifyService({
    docker: new FakeDocker(),
    os: new FakeHostOs(),
    probeDir: PROBES,
    imageTemplate: '{official}/busybox',
    ...deps,
  });
}

describe('VerifyService', () => {
  it('checks every registered qemu entry by default, probe then container', async () => {
    const docker = new FakeDocker();
    const report = await service({
      registration: binfmt([entry('s390x'), entry('aarch64')]),
      os: hostWithProbes(['aarch64', 's390x']),
      docker,
    }).verify();
    expect(report.checks.map((c) => [c.target, c.method, c.status, c.output])).toEqual([
      ['s390x', 'probe', 'pass', 's390x'],
      ['s390x', 'container', 'pass', 's390x'],
      ['aarch64', 'probe', 'pass', 'aarch64'],
      ['aarch64', 'container', 'pass', 'aarch64'],
    ]);
    expect(report.passed).toBe(true);
    expect(Date.parse(report.startedAt)).not.toBeNaN();
    expect(report.checks.every((c) => c.durationMs >= 0)).toBe(true);
    expect(docker.runs).toEqual([
      { image: 's390x/busybox', platform: 'linux/s390x', cmd: ['uname', '-m'], timeoutMs: 60_000 },
      { image: 'arm64v8/busybox', platform: 'linux/arm64', cmd: ['uname', '-m'], timeoutMs: 60_000 },
    ]);
  });

  it('runs the probe binary itself with uname -m, so the kernel picks the interpreter', async () => {
    const os = hostWithProbes(['mips64el']);
    const report = await service({ registration: binfmt([entry('mips64el')]), os }).verify({
      methods: ['probe'],
    });
    expect(os.runs).toEqual([{ path: `${PROBES}/mips64el/busybox`, args: ['uname', '-m'] }]);
    expect(report.checks[0]).toMatchObject({ status: 'pass', output: 'mips64' });
  });

  it('asks dockerd once per run, and not at all for probes only', async () => {
    const docker = new FakeDocker();
    const registration = binfmt([entry('aarch64'), entry('s390x')]);
    await service({ registration, docker, os: hostWithProbes(['aarch64', 's390x']) }).verify();
    expect(docker.infoCalls).toBe(1);
    await service({ registration, docker, os: hostWithProbes(['aarch64', 's390x']) }).verify({
      methods: ['probe'],
    });
    expect(docker.infoCalls).toBe(1);
  });

  it('fails a target that is not registered or disabled, with what to do, without running anything', async () => {
    const os = hostWithProbes(['aarch64', 's390x']);
    const docker = new FakeDocker();
    const report = await service({
      registration: binfmt([entry('s390x', { enabled: false })]),
      os,
      docker,
    }).verify({
      targets: ['aarch64', 's390x'],
    });
    expect(report.checks.map((c) => [c.target, c.method, c.status, c.detail])).toEqual([
      ['aarch64', 'probe', 'fail', 'qemu-aarch64 is not registered: register it (binfleet-agent register).'],
      [
        'aarch64',
        'container',
        'fail',
        'qemu-aarch64 is not registered: register it (binfleet-agent register).',
      ],
      ['s390x', 'probe', 'fail', 'qemu-s390x is disabled: enable it (binfleet-agent enable s390x).'],
      ['s390x', 'container', 'fail', 'qemu-s390x is disabled: enable it (binfleet-agent enable s390x).'],
    ]);
    expect(report.passed).toBe(false);
    expect(os.runs).toEqual([]);
    expect(docker.runs).toEqual([]);
  });

  it('fails everything while binfmt_misc is switched off globally', async () => {
    const report = await service({
      registration: binfmt([entry('aarch64')], { enabled: false }),
      os: hostWithProbes(['aarch64']),
    }).verify({ methods: ['probe'] });
    expect(report.checks[0]!.detail).toBe(
      'binfmt_misc is switched off at /proc/sys/fs/binfmt_misc/status: echo 1 > /proc/sys/fs/binfmt_misc/status.',
    );
  });

  it('refuses to verify without binfmt_misc mounted', async () => {
    const registration = binfmt([], { mounted: false, entries: [] });
    await expect(service({ registration }).verify()).rejects.toMatchObject({ code: 'NOT_MOUNTED' });
  });

  it('skips container checks when dockerd is absent and still runs the probes', async () => {
    const report = await service({
      registration: binfmt([entry('aarch64')]),
      os: hostWithProbes(['aarch64']),
      docker: unreachable,
    }).verify();
    expect(report.checks.map((c) => [c.method, c.status, c.detail])).toEqual([
      ['probe', 'pass', `${PROBES}/arm64/busybox uname -m printed aarch64`],
      [
        'container',
        'skipped',
        'dockerd is not reachable (connect ENOENT /nowhere.sock): start dockerd (e.g. systemctl start docker) ' +
          'or set BINFLEET_DOCKER_SOCKET to its socket, then verify again.',
      ],
    ]);
    expect(report.passed).toBe(true);
  });

  it('skips a probe without a binary, and does not call all-skipped a pass', async () => {
    const report = await service({
      registration: binfmt([entry('s390x')]),
      os: new FakeHostOs(),
      docker: unreachable,
    }).verify();
    expect(report.checks[0]).toMatchObject({
      status: 'skipped',
      detail: expect.stringMatching(/^no s390x probe binary: put/),
    });
    expect(report.passed).toBe(false);
  });

  it('skips probes when no probe directory is configured', async () => {
    const report = await new VerifyService({
      registration: binfmt([entry('aarch64')]),
      docker: unreachable,
      os: new FakeHostOs(),
      imageTemplate: '{official}/busybox',
    }).verify({ methods: ['probe'] });
    expect(report.checks[0]).toMatchObject({
      status: 'skipped',
      detail: expect.stringMatching(/--probe-dir/),
    });
  });

  it('notes a missing F flag in the container detail', async () => {
    const report = await service({ registration: binfmt([entry('aarch64', { persistent: false })]) }).verify({
      methods: ['container'],
    });
    expect(report.checks[0]!.status).toBe('pass');
    expect(report.checks[0]!.detail).toMatch(
      /lacks F \(persistent\), so the image itself must contain \/usr\/bin\/qemu-aarch64-static/,
    );
  });

  it('skips a missing image with the advice, and fails other docker errors', async () => {
    const missing = new FakeDocker(() => {
      throw new AgentError(
        'IMAGE_MISSING',
        'Image arm64v8/busybox for linux/arm64 is not on this host: pull it.',
      );
    });
    const broken = new FakeDocker(() => {
      throw new AgentError('DOCKER_FAILED', 'dockerd refused running uname -m (HTTP 500): oops');
    });
    const registration = binfmt([entry('aarch64')]);
    const skipped = await service({ registration, docker: missing }).verify({ methods: ['container'] });
    expect(skipped.checks[0]).toMatchObject({ status: 'skipped', detail: expect.stringMatching(/pull it/) });
    const failed = await service({ registration, docker: broken }).verify({ methods: ['container'] });
    expect(failed.checks[0]).toMatchObject({ status: 'fail', detail: expect.stringMatching(/HTTP 500/) });
  });

  it('uses the image template and skips targets Docker has no platform for', async () => {
    const docker = new FakeDocker();
    const report = await service({
      registration: binfmt([entry('aarch64'), entry('hexagon')]),
      docker,
      imageTemplate: 'binfleet-test/{debian}-busybox:latest',
    }).verify({ methods: ['container'] });
    expect(docker.runs.map((r) => r.image)).toEqual(['binfleet-test/arm64-busybox:latest']);
    expect(report.checks[1]).toMatchObject({
      target: 'hexagon',
      status: 'skipped',
      detail: expect.stringMatching(/no platform/),
    });
  });

  it('fails the container check when another cpu answers', async () => {
    const docker = new FakeDocker(() => ({ exitCode: 0, stdout: 'x86_64\n', stderr: '', timedOut: false }));
    const report = await service({ registration: binfmt([entry('aarch64')]), docker }).verify({
      methods: ['container'],
    });
    expect(report.checks[0]).toMatchObject({ status: 'fail', output: 'x86_64' });
  });

  it('rejects a bad image template when it is built', () => {
    expect(() => service({ registration: binfmt([]), imageTemplate: '{arch}/busybox' })).toThrowError(
      AgentError,
    );
  });
});
