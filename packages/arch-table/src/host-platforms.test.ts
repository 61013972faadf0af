import { describe, expect, it } from 'vitest';
import {
  HOST_PLATFORMS,
  hostPlatformOf,
  hostPlatformOfPlatform,
  parsePlatform,
  planTags,
  platformString,
  targetOfDebianArch,
  targetsForHost,
  type PlannedTag,
} from './index.ts';

const platformsOf = (debian: readonly string[]) =>
  debian.map((d) => platformString(hostPlatformOf(d).platform));

describe('host platforms', () => {
  it('maps every Debian architecture with qemu-user-static to its OCI platform, variant included', () => {
    expect(Object.fromEntries(HOST_PLATFORMS.map((h) => [h.debian, platformString(h.platform)]))).toEqual({
      amd64: 'linux/amd64',
      arm64: 'linux/arm64/v8',
      armhf: 'linux/arm/v7',
      armel: 'linux/arm/v5',
      i386: 'linux/386',
      ppc64el: 'linux/ppc64le',
      s390x: 'linux/s390x',
      riscv64: 'linux/riscv64',
      mips64el: 'linux/mips64le',
      mipsel: 'linux/mipsle',
    });
  });

  it('agrees with the alias table on the QEMU host each Debian architecture is', () => {
    for (const h of HOST_PLATFORMS) expect(targetOfDebianArch(h.debian), h.debian).toBe(h.cpu);
  });

  it('reads platforms back as registries and clients write them (arm64 with or without v8)', () => {
    const debianOf = (text: string) => hostPlatformOfPlatform(parsePlatform(text))?.debian;
    expect(debianOf('linux/arm64')).toBe('arm64');
    expect(debianOf('linux/arm64/v8')).toBe('arm64');
    expect(debianOf('linux/arm')).toBe('armhf');
    expect(debianOf('linux/arm/v7')).toBe('armhf');
    expect(debianOf('linux/arm/v5')).toBe('armel');
    expect(debianOf('linux/arm/v6')).toBeUndefined();
    expect(debianOf('linux/386')).toBe('i386');
    expect(debianOf('linux/amd64')).toBe('amd64');
    expect(hostPlatformOfPlatform({ os: 'windows', architecture: 'amd64' })).toBeUndefined();
    expect(() => parsePlatform('arm64')).toThrowError(/os\/architecture/);
    expect(() => hostPlatformOf('sparc64')).toThrowError(/amd64, arm64, armhf/);
  });
});

describe('multi-platform tags', () => {
  const hosts = [
    { debianArch: 'armhf', targets: ['aarch64', 'arm', 'x86_64', 'riscv64'] as const },
    { debianArch: 'amd64', targets: ['aarch64', 'arm', 'x86_64', 'i386', 'riscv64'] as const },
    { debianArch: 'arm64', targets: ['aarch64', 'arm', 'x86_64', 'riscv64'] as const },
  ];
  const plan = planTags({ version: '7.2.0-1', hosts });
  const byTag = new Map(plan.map((p) => [p.tag.tag, p]));
  const entries = (tag: string) => {
    const p = byTag.get(tag) as PlannedTag;
    return { form: p.form, images: p.images.map((i) => [i.host, i.image, 'target' in i ? i.target : '']) };
  };

  it('makes latest, $version and register indexes with one entry per host, in the table order', () => {
    const full = { form: 'index', images: ['amd64', 'arm64', 'armhf'].map((h) => [h, 'full', '']) };
    expect(entries('latest')).toEqual(full);
    expect(entries('7.2.0-1')).toEqual(full);
    expect(entries('register')).toEqual({
      form: 'index',
      images: ['amd64', 'arm64', 'armhf'].map((h) => [h, 'register', '']),
    });
    expect(platformsOf(['amd64', 'arm64', 'armhf'])).toEqual([
      'linux/amd64',
      'linux/arm64/v8',
      'linux/arm/v7',
    ]);
  });

  it('points $to and $to-$version at each host that emulates $to, never at its own family', () => {
    expect(entries('aarch64')).toEqual({ form: 'index', images: [['amd64', 'emulator', 'aarch64']] });
    expect(entries('arm-7.2.0-1')).toEqual({ form: 'index', images: [['amd64', 'emulator', 'arm']] });
    expect(entries('x86_64')).toEqual({
      form: 'index',
      images: [
        ['arm64', 'emulator', 'x86_64'],
        ['armhf', 'emulator', 'x86_64'],
      ],
    });
    expect(entries('riscv64')).toEqual({
      form: 'index',
      images: ['amd64', 'arm64', 'armhf'].map((h) => [h, 'emulator', 'riscv64']),
    });
    // i386 is only in the amd64 package, and amd64 runs it natively: no i386 index at all.
    expect(byTag.has('i386')).toBe(false);
    for (const p of plan.filter((t) => t.tag.kind === 'target' || t.tag.kind === 'target-version')) {
      for (const image of p.images) {
        const cpu = hostPlatformOf(image.host).cpu;
        expect(targetsForHost(cpu), `${p.tag.tag} on ${image.host}`).toContain((p.tag as { to: string }).to);
      }
    }
  });

  it('keeps $from-$to and $from-$to-$version single-platform, for every emulator of every package', () => {
    expect(entries('aarch64-x86_64')).toEqual({ form: 'single', images: [['arm64', 'emulator', 'x86_64']] });
    expect(entries('arm-aarch64-7.2.0-1')).toEqual({
      form: 'single',
      images: [['armhf', 'emulator', 'aarch64']],
    });
    expect(entries('x86_64-i386')).toEqual({ form: 'single', images: [['amd64', 'emulator', 'i386']] });
    const pairs = plan.filter((p) => p.tag.kind === 'pair');
    expect(pairs).toHaveLength(hosts.reduce((n, h) => n + h.targets.length, 0));
    expect(new Set(plan.map((p) => p.tag.tag)).size).toBe(plan.length);
  });

  it('refuses two packages for one host, armel beside armhf, and no host at all', () => {
    expect(() =>
      planTags({
        version: '7.2',
        hosts: [
          { debianArch: 'arm64', targets: ['x86_64'] },
          { debianArch: 'arm64', targets: ['x86_64'] },
        ],
      }),
    ).toThrowError(/Two packages are for arm64/);
    expect(() =>
      planTags({
        version: '7.2',
        hosts: [
          { debianArch: 'armhf', targets: ['x86_64'] },
          { debianArch: 'armel', targets: ['x86_64'] },
        ],
      }),
    ).toThrowError(/armhf and armel are both the QEMU host arm/);
    expect(() => planTags({ version: '7.2', hosts: [] })).toThrowError(/at least one host/);
    expect(() => planTags({ version: '7.2', hosts: [{ debianArch: 'sparc64', targets: [] }] })).toThrowError(
      /no Debian architecture binfleet builds images for/,
    );
  });
});
