import { describe, expect, it } from 'vitest';
import {
  ArchTableError,
  decodeEscapes,
  diffEntry,
  dockerPlatformOf,
  encodeRegisterLine,
  expectedEntry,
  hostArchOf,
  kernelFlags,
  makeTagSet,
  matchTargets,
  parseEntryFile,
  parseRegisterLine,
  parseTag,
  renderDebianTemplate,
  renderSystemdConf,
  resolveArch,
  resolveArchs,
  scriptFlags,
  tagVersionOf,
  targetRegisterSpec,
  targetsForHost,
  TARGETS,
  TARGET_IDS,
  validateInterpreterPath,
} from './index.ts';

const SEED = { interpreterDir: '/usr/bin', suffix: '-static' } as const;

function elfHeader(
  bits: 32 | 64,
  endian: 'little' | 'big',
  machine: number,
  type = 2,
  flags = 0,
): Uint8Array {
  const h = new Uint8Array(64);
  h.set([0x7f, 0x45, 0x4c, 0x46, bits === 32 ? 1 : 2, endian === 'little' ? 1 : 2, 1]);
  const le = endian === 'little';
  const view = new DataView(h.buffer);
  view.setUint16(16, type, le);
  view.setUint16(18, machine, le);
  view.setUint32(20, 1, le);
  // e_flags sits at 36 in a 32-bit header; mips n32 is told apart from o32 by EF_MIPS_ABI2 (0x20).
  if (bits === 32) view.setUint32(36, flags, le);
  return h;
}

describe('target table', () => {
  it('has the 34 targets of qemu-binfmt-conf.sh in its order', () => {
    expect(TARGET_IDS.join(' ')).toBe(
      'i386 i486 alpha arm armeb sparc sparc32plus sparc64 ppc ppc64 ppc64le m68k mips mipsel mipsn32 mipsn32el ' +
        'mips64 mips64el sh4 sh4eb s390x aarch64 aarch64_be hppa riscv32 riscv64 xtensa xtensaeb microblaze ' +
        'microblazeel or1k x86_64 hexagon loongarch64',
    );
  });

  it('has magic and mask of equal length for every target', () => {
    for (const t of TARGETS) expect(decodeEscapes(t.mask).length, t.id).toBe(decodeEscapes(t.magic).length);
  });

  it.each(TARGETS.filter((t) => t.id !== 'microblaze'))(
    '$id matches a synthetic header of its own ELF kind',
    (t) => {
      const flags = t.id.startsWith('mipsn32') ? 0x20 : 0;
      expect(matchTargets(elfHeader(t.elf.bits, t.elf.endian, t.elf.machine, 2, flags))).toContain(t.id);
    },
  );

  it('tells mips o32 from n32 by EF_MIPS_ABI2', () => {
    expect(matchTargets(elfHeader(32, 'big', 8, 2, 0))).toEqual(['mips']);
    expect(matchTargets(elfHeader(32, 'big', 8, 2, 0x20))).toEqual(['mipsn32']);
    expect(matchTargets(elfHeader(32, 'little', 8, 2, 0x20))).toEqual(['mipsn32el']);
  });

  it('keeps the script quirk: microblaze magic has a little-endian e_type', () => {
    // qemu's table writes \x02\x00 for e_type although the file is big-endian; we copy it byte for byte.
    const h = elfHeader(32, 'big', 0xbaab);
    expect(matchTargets(h)).not.toContain('microblaze');
    h[16] = 2;
    h[17] = 0;
    expect(matchTargets(h)).toContain('microblaze');
  });

  it('never matches a shared object or a non-ELF file', () => {
    expect(matchTargets(elfHeader(64, 'little', 183, 1))).toEqual([]);
    expect(matchTargets(new TextEncoder().encode('#!/bin/sh\necho hi\n'))).toEqual([]);
  });
});

describe('aliases', () => {
  it.each([
    ['arm64', ['aarch64']],
    ['linux/arm64', ['aarch64']],
    ['linux/arm64/v8', ['aarch64']],
    ['arm64v8', ['aarch64']],
    ['AArch64', ['aarch64']],
    ['qemu-aarch64', ['aarch64']],
    ['linux/arm/v7', ['arm']],
    ['armhf', ['arm']],
    ['armel', ['arm']],
    ['arm32v5', ['arm']],
    ['armv7l', ['arm']],
    ['ppc64el', ['ppc64le']],
    ['linux/ppc64le', ['ppc64le']],
    ['mips64le', ['mips64el']],
    ['linux/mipsle', ['mipsel']],
    ['i686', ['i386']],
    ['linux/386', ['i386']],
    ['amd64', ['x86_64']],
    ['loong64', ['loongarch64']],
    ['s390x', ['s390x']],
    ['riscv64', ['riscv64']],
  ])('%s resolves to %j', (input, expected) => {
    expect(resolveArch(input)).toEqual(expected);
  });

  it('resolves ALL to every target and deduplicates lists in table order', () => {
    expect(resolveArch('ALL')).toHaveLength(34);
    expect(resolveArchs(['s390x', 'arm64', 'aarch64', 'linux/arm64'])).toEqual(['s390x', 'aarch64']);
  });

  it('rejects unknown names with a hint', () => {
    expect(() => resolveArch('pdp11')).toThrowError(/Unknown architecture "pdp11".*arm64/);
    expect(() => resolveArch('pdp11')).toThrowError(ArchTableError);
  });

  it('forgives spaces around a name but no control character, and shows what it refused escaped', () => {
    expect(resolveArch(' arm64 ')).toEqual(['aarch64']);
    expect(() => resolveArch('aarch64\r')).toThrowError('Unknown architecture "aarch64\\x0d"');
    expect(() => resolveArch('aarch64\n:x:E::sh::/bin/sh:')).toThrowError(/"aarch64\\x0a:x:E/);
    expect(() => resolveArch('aarch64\u202e')).toThrowError('Unknown architecture "aarch64\\u202e"');
  });

  it('knows the canonical Docker platform', () => {
    expect(dockerPlatformOf('aarch64')).toBe('linux/arm64');
    expect(dockerPlatformOf('arm')).toBe('linux/arm/v7');
    expect(dockerPlatformOf('mips64el')).toBe('linux/mips64le');
    expect(dockerPlatformOf('hexagon')).toBeUndefined();
  });
});

describe('host family rules (qemu-binfmt-conf.sh)', () => {
  it('skips the i386 family on x86_64 and amd64', () => {
    for (const host of ['x86_64', 'amd64', 'i686']) {
      const ids = targetsForHost(host);
      expect(ids).not.toContain('i386');
      expect(ids).not.toContain('i486');
      expect(ids).not.toContain('x86_64');
      expect(ids).toHaveLength(31);
    }
  });

  it('skips arm and aarch64 on an arm64 host, keeps big-endian arm', () => {
    const ids = targetsForHost('aarch64');
    expect(ids).not.toContain('arm');
    expect(ids).not.toContain('aarch64');
    expect(ids).toContain('armeb');
    expect(targetsForHost('armv7l')).toEqual(ids);
    expect(targetsForHost('arm64')).toEqual(ids);
  });

  it('with ignore-family skips only the host itself', () => {
    expect(targetsForHost('riscv64')).not.toContain('riscv32');
    expect(targetsForHost('riscv64', { ignoreFamily: true })).toContain('riscv32');
    expect(targetsForHost('riscv64', { ignoreFamily: true })).not.toContain('riscv64');
    const x86 = targetsForHost('x86_64', { ignoreFamily: true });
    expect(x86).toContain('i386');
    expect(x86).toContain('i486');
    expect(x86).not.toContain('x86_64');
    // i486 runs qemu-i386, so on an i386 host it is the host's own cpu too.
    expect(targetsForHost('i686', { ignoreFamily: true })).not.toContain('i486');
  });

  it('puts ppc64le in its own family', () => {
    expect(targetsForHost('ppc64le')).toContain('ppc64');
    expect(targetsForHost('ppc64')).toContain('ppc64le');
    expect(targetsForHost('ppc64')).not.toContain('ppc');
  });

  it('rejects an unknown host with what to do', () => {
    expect(() => hostArchOf('vax')).toThrowError(/HOST_ARCH/);
  });
});

describe('register lines', () => {
  it('renders the seed line for aarch64 with -p yes', () => {
    const line = encodeRegisterLine(targetRegisterSpec('aarch64', { ...SEED, persistent: true }));
    expect(line).toBe(
      String.raw`:qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:F`,
    );
    expect(parseRegisterLine(line)).toEqual(targetRegisterSpec('aarch64', { ...SEED, persistent: true }));
  });

  it('uses qemu-i386 for i486', () => {
    expect(targetRegisterSpec('i486', SEED).interpreter).toBe('/usr/bin/qemu-i386-static');
  });

  it('orders flags like the script and like the kernel', () => {
    expect(scriptFlags({ credential: true, persistent: true, preserveArgv0: true })).toBe('OCFP');
    expect(kernelFlags('OCFP')).toBe('POCF');
    expect(kernelFlags('C')).toBe('OC');
    expect(() => kernelFlags('FX')).toThrowError(/Unknown binfmt_misc flag "X"/);
    expect(() => kernelFlags('F\n')).toThrowError('Unknown binfmt_misc flag "\\u000a"');
  });

  it.each([
    ['qemu:aarch64', /contains ':'/],
    ['/usr/bin/qemu\n:evil:M::a::/bin/sh:', /control character/],
    ['/usr/bin/qemu\u0000', /control character/],
    ['usr/bin/qemu', /relative/],
    ['/usr/../bin/sh', /'\.\.'/],
    ['/usr/bin/qémü', /non-ASCII/],
    ['/' + 'a'.repeat(127), /at most 127/],
    ['/usr/bin/qemu;reboot', /contains ";"/],
    ['/usr/bin/$(reboot)', /contains "\$"/],
    ['/usr/local bin/qemu', /contains " "/],
    ['', /empty/],
  ])('refuses interpreter %j', (path, message) => {
    expect(() => validateInterpreterPath(path)).toThrowError(message);
  });

  it('refuses an interpreter directory that would inject a field', () => {
    expect(() => targetRegisterSpec('aarch64', { interpreterDir: '/x:/y' })).toThrowError(ArchTableError);
    expect(() =>
      targetRegisterSpec('aarch64', { interpreterDir: '/usr/bin', suffix: '-static:F' }),
    ).toThrowError(/suffix/);
  });

  it('enforces the kernel limits', () => {
    const big = {
      name: 'big',
      type: 'M',
      offset: 100,
      magic: 'x'.repeat(29),
      interpreter: '/bin/true',
      flags: '',
    } as const;
    expect(() => encodeRegisterLine(big)).toThrowError(/first 128 bytes/);
    expect(() => encodeRegisterLine({ ...big, offset: 0, mask: 'ab' })).toThrowError(/same length/);
    expect(() => encodeRegisterLine({ ...big, offset: 0, name: '..' })).toThrowError(/Entry name/);
    expect(() => encodeRegisterLine({ ...big, offset: 0, name: 'a/b' })).toThrowError(/Entry name/);
    expect(() => parseRegisterLine(':a:M::ab::/bin/true')).toThrowError(/7 fields/);
    expect(() => parseRegisterLine(':a:X::ab::/bin/true:')).toThrowError(/Type "X"/);
  });

  it('round-trips extension entries', () => {
    const spec = parseRegisterLine(':probe:E::bflt::/bin/true:F');
    expect(spec).toEqual({
      name: 'probe',
      type: 'E',
      extension: 'bflt',
      interpreter: '/bin/true',
      flags: 'F',
    });
    expect(encodeRegisterLine(spec)).toBe(':probe:E::bflt::/bin/true:F');
  });

  it('answers what it accepted before from memory, and only that', () => {
    const spec = targetRegisterSpec('aarch64', { ...SEED, persistent: true });
    if (spec.type !== 'M') throw new Error('a target registers by magic');
    const line = encodeRegisterLine(spec);
    expect(encodeRegisterLine({ ...spec })).toBe(line);
    // Every field counts: a spec that differs in one gets its own line, or its own refusal.
    expect(encodeRegisterLine({ ...spec, flags: 'OCF' })).toBe(line.replace(/:F$/, ':OCF'));
    expect(encodeRegisterLine({ ...spec, interpreter: '/opt/qemu-aarch64' })).toContain(
      ':/opt/qemu-aarch64:F',
    );
    expect(encodeRegisterLine({ ...spec, mask: undefined })).toContain(String.raw`\x00::/usr/bin/`);
    expect(() => encodeRegisterLine({ ...spec, flags: 'FX' })).toThrowError(/Unknown binfmt_misc flag/);
    expect(() => encodeRegisterLine({ ...spec, offset: 120 })).toThrowError(/first 128 bytes/);
    // A refusal is not remembered as an acceptance, however often it is asked.
    for (let i = 0; i < 2; i++) {
      expect(() => validateInterpreterPath('/usr/bin/qemu;reboot')).toThrowError(/contains ";"/);
      expect(() => encodeRegisterLine({ ...spec, name: 'a/b' })).toThrowError(/Entry name/);
    }
    // More inputs than it keeps: each still checked and answered alike.
    for (let i = 0; i < 1200; i++) expect(validateInterpreterPath(`/opt/q${i}`)).toBe(`/opt/q${i}`);
    expect(() => validateInterpreterPath('/opt/q 1')).toThrowError(/contains " "/);
    expect(encodeRegisterLine(spec)).toBe(line);
  });
});

describe('kernel entry files', () => {
  const text = [
    'enabled',
    'interpreter /usr/bin/qemu-aarch64-static',
    'flags: F',
    'offset 0',
    'magic 7f454c460201010000000000000000000200b700',
    'mask ffffffffffffff00fffffffffffffffffeffffff',
    '',
  ].join('\n');

  it('parses an entry and compares it with the desired registration', () => {
    const entry = parseEntryFile('qemu-aarch64', text);
    expect(entry).toMatchObject({ enabled: true, flags: 'F', offset: 0, type: 'M' });
    const want = targetRegisterSpec('aarch64', { ...SEED, persistent: true });
    expect(diffEntry(entry, want)).toEqual([]);
    expect(expectedEntry(want)).toEqual(entry);
    expect(diffEntry(entry, targetRegisterSpec('aarch64', SEED))).toEqual([
      { field: 'flags', expected: '', actual: 'F' },
    ]);
  });

  it('parses disabled and extension entries', () => {
    const e = parseEntryFile('x', 'disabled\ninterpreter /bin/true\nflags: POC\nextension .xyz\n');
    expect(e).toEqual({
      name: 'x',
      enabled: false,
      interpreter: '/bin/true',
      flags: 'POC',
      type: 'E',
      extension: 'xyz',
    });
  });

  it('rejects malformed text', () => {
    expect(() => parseEntryFile('x', 'maybe\n')).toThrowError(/enabled or disabled/);
    expect(() => parseEntryFile('x', 'enabled\ninterpreter /a\nflags: \noffset 0\nmagic zz\n')).toThrowError(
      /hex/,
    );
  });
});

describe('exports', () => {
  it('writes the systemd file and the Debian template like the script', () => {
    const opts = { ...SEED, credential: true, persistent: true };
    expect(renderSystemdConf('s390x', opts)).toEqual({
      fileName: 'qemu-s390x.conf',
      content:
        String.raw`:qemu-s390x:M::\x7fELF\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x16:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff:/usr/bin/qemu-s390x-static:OCF` +
        '\n',
    });
    expect(renderDebianTemplate('hppa', opts).content).toBe(
      [
        'package qemu-hppa',
        'interpreter /usr/bin/qemu-hppa-static',
        String.raw`magic \x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x0f`,
        String.raw`mask \xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff`,
        'credentials yes',
        'preserve no',
        'fix_binary yes',
        '',
      ].join('\n'),
    );
  });
});

describe('image tags', () => {
  it('makes the seed tag set for an amd64 package and parses every tag back', () => {
    const tags = makeTagSet({
      version: '7.2.0-1',
      hosts: [{ debianArch: 'amd64', targets: ['aarch64', 's390x', 'i386'] }],
    });
    expect(tags.map((t) => t.tag)).toEqual([
      '7.2.0-1',
      'latest',
      'register',
      'x86_64-i386',
      'x86_64-i386-7.2.0-1',
      'x86_64-s390x',
      'x86_64-s390x-7.2.0-1',
      's390x',
      's390x-7.2.0-1',
      'x86_64-aarch64',
      'x86_64-aarch64-7.2.0-1',
      'aarch64',
      'aarch64-7.2.0-1',
    ]);
    for (const t of tags) expect(parseTag(t.tag)).toEqual(t);
  });

  it('uses the package host as from-arch and gives it bare targets outside its family only', () => {
    const tags = makeTagSet({
      version: '8.0.0-1',
      hosts: [{ debianArch: 'arm64', targets: ['x86_64', 'arm', 'aarch64_be'] }],
    });
    expect(tags.map((t) => t.tag)).toEqual([
      '8.0.0-1',
      'latest',
      'register',
      'aarch64-arm',
      'aarch64-arm-8.0.0-1',
      'aarch64-aarch64_be',
      'aarch64-aarch64_be-8.0.0-1',
      'aarch64_be',
      'aarch64_be-8.0.0-1',
      'aarch64-x86_64',
      'aarch64-x86_64-8.0.0-1',
      'x86_64',
      'x86_64-8.0.0-1',
    ]);
    expect(parseTag('aarch64_be-8.0.0-1')).toEqual({
      kind: 'target-version',
      tag: 'aarch64_be-8.0.0-1',
      to: 'aarch64_be',
      version: '8.0.0-1',
    });
  });

  it('turns a Debian version into a tag version and refuses tags outside the scheme', () => {
    expect(tagVersionOf('1:7.2+dfsg-7+deb12u18')).toBe('7.2.dfsg-7.deb12u18');
    expect(() => parseTag('banana')).toThrowError(/outside the scheme/);
    expect(() => parseTag('x86_64-pdp11')).toThrowError(/outside the scheme/);
    expect(() => parseTag('has space')).toThrowError(/valid Docker tag/);
    expect(() => makeTagSet({ version: 'v1', hosts: [{ debianArch: 'amd64', targets: [] }] })).toThrowError(
      /start with a digit/,
    );
  });
});

describe('OCI grammar for what registries send', () => {
  it('takes tags of the distribution grammar, refuses the rest', async () => {
    const { isOciTag } = await import('./image-tags.ts');
    for (const ok of ['latest', '7.2.0-1', 'x86_64-aarch64', '_x', 'A'.repeat(128)])
      expect(isOciTag(ok)).toBe(true);
    for (const bad of ['', '-x', '.x', 'a b', 'a;rm -rf /', 'a\nb', '$(id)', 'a'.repeat(129), 'tag:1', 'é'])
      expect(isOciTag(bad)).toBe(false);
  });

  it('takes os/architecture[/variant], refuses the rest', async () => {
    const { isOciPlatform } = await import('./image-tags.ts');
    for (const ok of ['linux/amd64', 'linux/arm/v7', 'linux/ppc64le', 'windows/amd64'])
      expect(isOciPlatform(ok)).toBe(true);
    for (const bad of [
      'linux',
      'linux/',
      'Linux/AMD64',
      'linux/amd64/v8/x',
      'linux/<script>',
      'linux/a b',
      '',
    ])
      expect(isOciPlatform(bad)).toBe(false);
  });
});
