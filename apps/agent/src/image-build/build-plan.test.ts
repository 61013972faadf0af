import { hostPlatformOf, type TargetId } from '@binfleet/arch-table';
import type { QemuPackage } from '@binfleet/deb';
import { describe, expect, it } from 'vitest';
import { fakeElfOf } from '../testing/fake-host-os.ts';
import { integrationDockerfile, pickCheckTarget, planBuild, type HostBuild } from './build-plan.ts';
import { checkBusybox, hasInterpreter, registerRoot } from './register-context.ts';

const pkg = (architecture: string, path = `/debs/q_${architecture}.deb`): QemuPackage => ({
  path,
  sha256: 'ab'.repeat(32),
  size: 1,
  name: 'qemu-user-static',
  version: '1:7.2+dfsg-7',
  architecture,
  fromArch: 'x86_64',
  upstreamVersion: '7.2',
  emulators: [],
  targets: [],
});
const host = (architecture: string, targets: TargetId[], path?: string): HostBuild => ({
  host: hostPlatformOf(architecture),
  pkg: pkg(architecture, path),
  busybox: '/bin/busybox',
  targets,
  root: '/nowhere',
  qemuVersion: '7.2',
});

describe('build plan', () => {
  it('orders the hosts as the arch table does and plans their tags', () => {
    const plan = planBuild('7.2', [host('armhf', ['riscv64']), host('amd64', ['riscv64'])]);
    expect(plan.hosts.map((h) => h.host.debian)).toEqual(['amd64', 'armhf']);
    expect(plan.tags.find((t) => t.tag.tag === 'riscv64')!.images).toEqual([
      { host: 'amd64', image: 'emulator', target: 'riscv64' },
      { host: 'armhf', image: 'emulator', target: 'riscv64' },
    ]);
  });

  it('refuses two packages of one host, and armel beside armhf, naming the files', () => {
    expect(() => planBuild('7.2', [host('arm64', [], '/a.deb'), host('arm64', [], '/b.deb')])).toThrowError(
      '/a.deb and /b.deb are both for arm64: give one package per host architecture.',
    );
    expect(() => planBuild('7.2', [host('armel', [], '/a.deb'), host('armhf', [], '/b.deb')])).toThrowError(
      /are both the QEMU host arm/,
    );
  });

  it('checks with aarch64 like the seed, else a foreign target docker can run', () => {
    expect(pickCheckTarget('x86_64', ['alpha', 'arm', 'aarch64'])).toBe('aarch64');
    expect(pickCheckTarget('aarch64', ['aarch64', 'arm', 'x86_64'])).toBe('x86_64');
    expect(pickCheckTarget('x86_64', ['i386', 'x86_64', 'hexagon'])).toBeUndefined();
  });

  it('copies the emulator from the host-platform image into the foreign one', () => {
    expect(
      integrationDockerfile({
        emulatorImage: 'r/q:x86_64-aarch64',
        emulatorPlatform: 'linux/amd64',
        foreignImage: 'arm64v8/busybox',
        target: 'aarch64',
      }),
    ).toBe(
      'FROM --platform=linux/amd64 r/q:x86_64-aarch64 AS qemu\nFROM arm64v8/busybox\n' +
        'COPY --from=qemu /usr/bin/qemu-aarch64-static /usr/bin/qemu-aarch64-static\n',
    );
  });
});

describe('register image root', () => {
  it('has busybox, its applets and the rendered entrypoint', () => {
    const root = registerRoot('/bin/busybox');
    expect(root).toContainEqual({ type: 'symlink', name: 'bin/sh', target: 'busybox' });
    const script = root.find((e) => e.name === 'register');
    expect(script).toMatchObject({ mode: 0o755, data: expect.stringMatching(/^#!\/bin\/sh\n/) });
  });

  it('takes only a static busybox of the package architecture', () => {
    expect(() => checkBusybox('/b', fakeElfOf('x86_64'), 'x86_64')).not.toThrow();
    expect(() => checkBusybox('/b', fakeElfOf('aarch64'), 'x86_64')).toThrowError(
      /not a x86_64 executable \(aarch64\)/,
    );
    expect(() => checkBusybox('/b', undefined, 'x86_64')).toThrowError(/No busybox at \/b/);
    const dynamic = new Uint8Array(256);
    dynamic.set(fakeElfOf('x86_64'));
    const view = new DataView(dynamic.buffer);
    view.setBigUint64(0x20, 64n, true); // program headers right after the ELF header
    view.setUint16(0x36, 56, true);
    view.setUint16(0x38, 2, true);
    view.setUint32(64 + 56, 3, true); // the second one is PT_INTERP
    expect(hasInterpreter(dynamic)).toBe(true);
    expect(() => checkBusybox('/b', dynamic, 'x86_64')).toThrowError(/dynamically linked/);
  });
});
