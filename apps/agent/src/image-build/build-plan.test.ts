import { makeTagSet } from '@binfleet/arch-table';
import { describe, expect, it } from 'vitest';
import { fakeElfOf } from '../testing/fake-host-os.ts';
import { integrationDockerfile, pickCheckTarget, planImages } from './build-plan.ts';
import { checkBusybox, hasInterpreter, registerContext } from './register-context.ts';

describe('image plan', () => {
  it('groups every tag of the scheme by the image it names', () => {
    const plan = planImages({ version: '7.2.0-1', fromArch: 'x86_64', targets: ['aarch64', 'arm'] });
    expect(plan.platform).toBe('linux/amd64');
    expect(plan.register.tags).toEqual(['register']);
    expect(plan.full.tags).toEqual(['7.2.0-1', 'latest']);
    expect(plan.emulators).toEqual([
      { kind: 'emulator', target: 'arm', tags: ['x86_64-arm-7.2.0-1', 'x86_64-arm', 'arm', 'arm-7.2.0-1'] },
      {
        kind: 'emulator',
        target: 'aarch64',
        tags: ['x86_64-aarch64-7.2.0-1', 'x86_64-aarch64', 'aarch64', 'aarch64-7.2.0-1'],
      },
    ]);
    const all = [plan.register, plan.full, ...plan.emulators].flatMap((i) => i.tags).sort();
    expect(all).toEqual(
      makeTagSet({ version: '7.2.0-1', hosts: [{ debianArch: 'amd64', targets: ['aarch64', 'arm'] }] })
        .map((t) => t.tag)
        .sort(),
    );
  });

  it('gives another host $from-$to tags and $to tags for targets outside its family', () => {
    const plan = planImages({ version: '7.2', fromArch: 'aarch64', targets: ['x86_64', 'arm'] });
    expect(plan.platform).toBe('linux/arm64');
    expect(plan.emulators.map((e) => e.tags)).toEqual([
      ['aarch64-arm-7.2', 'aarch64-arm'],
      ['aarch64-x86_64-7.2', 'aarch64-x86_64', 'x86_64', 'x86_64-7.2'],
    ]);
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

describe('register image context', () => {
  it('has busybox, its applets and the rendered entrypoint', () => {
    const context = registerContext('/bin/busybox');
    expect(context[0]).toMatchObject({
      name: 'Dockerfile',
      data: expect.stringContaining('ENTRYPOINT ["/register"]'),
    });
    expect(context).toContainEqual({ type: 'symlink', name: 'rootfs/bin/sh', target: 'busybox' });
    const script = context.find((e) => e.name === 'rootfs/register');
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
