import { describe, expect, it } from 'vitest';
import {
  credentialFindings,
  expectedEntry,
  magicOverlaps,
  nativeFamilyFindings,
  nativeFindings,
  overlapFindings,
  TARGET_IDS,
  targetMagicRule,
  targetRegisterSpec,
  type KernelEntry,
} from './index.ts';

/** The first bytes of a static executable of an ELF machine (type EXEC, or DYN for PIE). */
function elf(bits: 32 | 64, little: boolean, machine: number, type = 2): Uint8Array {
  const h = new Uint8Array(64);
  h.set([0x7f, 0x45, 0x4c, 0x46, bits === 32 ? 1 : 2, little ? 1 : 2, 1]);
  const view = new DataView(h.buffer);
  view.setUint16(16, type, little);
  view.setUint16(18, machine, little);
  return h;
}

const X86_64_PIE = { path: '/usr/bin/node', header: elf(64, true, 0x3e, 3) };
const AARCH64_SH = { path: '/bin/sh', header: elf(64, true, 0xb7, 3) };

const entryOf = (name: string, magic: string, mask?: string, offset = 0): KernelEntry => ({
  name,
  enabled: true,
  interpreter: '/usr/bin/other',
  flags: '',
  type: 'M',
  offset,
  magic,
  ...(mask ? { mask } : {}),
});

describe('credentialFindings', () => {
  it('warns about C only when it is asked for', () => {
    expect(credentialFindings({ credential: false })).toEqual([]);
    const [finding] = credentialFindings({ credential: true });
    expect(finding).toMatchObject({ code: 'CREDENTIAL' });
    expect(finding!.message).toMatch(/setuid/);
  });
});

describe('magicOverlaps', () => {
  const rule = (magic: number[], mask?: number[], offset = 0) => ({
    offset,
    magic: Uint8Array.from(magic),
    ...(mask ? { mask: Uint8Array.from(mask) } : {}),
  });

  it('finds bytes that must differ, under both masks', () => {
    expect(magicOverlaps(rule([1, 2]), rule([1, 2]))).toBe(true);
    expect(magicOverlaps(rule([1, 2]), rule([1, 3]))).toBe(false);
    expect(magicOverlaps(rule([1, 2], [0xff, 0xfe]), rule([1, 3]))).toBe(true);
    expect(magicOverlaps(rule([1, 2]), rule([1, 3], [0xff, 0xfe]))).toBe(true);
  });

  it('compares bytes at their offsets; rules on different bytes overlap', () => {
    expect(magicOverlaps(rule([9, 2], undefined, 0), rule([2], undefined, 1))).toBe(true);
    expect(magicOverlaps(rule([9, 2], undefined, 0), rule([3], undefined, 1))).toBe(false);
    expect(magicOverlaps(rule([9]), rule([7], undefined, 4))).toBe(true);
  });

  it('keeps every pair of our own targets apart (qemu registers them side by side)', () => {
    for (const a of TARGET_IDS)
      for (const b of TARGET_IDS)
        if (a !== b) expect(magicOverlaps(targetMagicRule(a), targetMagicRule(b)), `${a} ${b}`).toBe(false);
  });
});

describe('nativeFindings', () => {
  it('names the targets whose magic takes one of the host programs, and the program', () => {
    const findings = nativeFindings(TARGET_IDS, [X86_64_PIE]);
    expect(findings.map((f) => f.target)).toEqual(['x86_64']);
    expect(findings[0]).toMatchObject({ code: 'NATIVE', other: '/usr/bin/node' });
  });

  it('goes by the programs, not by a name: an aarch64 shell makes aarch64 native', () => {
    expect(nativeFindings(['aarch64', 'x86_64', 's390x'], [AARCH64_SH]).map((f) => f.target)).toEqual([
      'aarch64',
    ]);
  });

  it('finds i386 for 32-bit x86 programs, and nothing for headers that are no ELF or too short', () => {
    expect(
      nativeFindings(TARGET_IDS, [{ path: '/bin/sh', header: elf(32, true, 3) }]).map((f) => f.target),
    ).toEqual(['i386']);
    expect(
      nativeFindings(TARGET_IDS, [{ path: '/bin/sh', header: new TextEncoder().encode('#!/bin/sh\n') }]),
    ).toEqual([]);
    expect(
      nativeFindings(TARGET_IDS, [{ path: '/bin/sh', header: X86_64_PIE.header.subarray(0, 8) }]),
    ).toEqual([]);
  });
});

describe('nativeFamilyFindings', () => {
  it('warns about targets of the families of the given machines', () => {
    const findings = nativeFamilyFindings(['aarch64', 'x86_64', 'i386', 's390x'], ['x86_64', 'aarch64']);
    expect(findings.map((f) => [f.target, f.other])).toEqual([
      ['aarch64', 'aarch64'],
      ['x86_64', 'x86_64'],
      ['i386', 'x86_64'],
    ]);
  });

  it('takes any spelling of a machine and skips ones QEMU does not know', () => {
    expect(nativeFamilyFindings(['aarch64'], ['arm64', 'pdp11']).map((f) => f.target)).toEqual(['aarch64']);
    expect(nativeFamilyFindings(['aarch64'], [])).toEqual([]);
  });
});

describe('overlapFindings', () => {
  const aarch64 = targetRegisterSpec('aarch64', { interpreterDir: '/usr/bin', suffix: '-static' });

  it('names an entry of another name with the same magic', () => {
    const own = expectedEntry(aarch64);
    const other = { ...own, name: 'box64-arm' };
    const findings = overlapFindings(['aarch64'], [own, other]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ code: 'OVERLAP', target: 'aarch64', other: 'box64-arm' });
  });

  it('sees an overlap through a looser mask or a shorter magic, and none for another machine', () => {
    expect(overlapFindings(['aarch64'], [entryOf('elf-any', '7f454c46')])).toHaveLength(1);
    expect(overlapFindings(['aarch64'], [entryOf('wasm', '0061736d')])).toEqual([]);
    const riscv = expectedEntry(targetRegisterSpec('riscv64', { interpreterDir: '/usr/bin' }));
    expect(overlapFindings(['aarch64'], [{ ...riscv, name: 'mine' }])).toEqual([]);
  });

  it('ignores extension entries and the target own entry', () => {
    const ext: KernelEntry = {
      name: 'jar',
      enabled: true,
      interpreter: '/usr/bin/java',
      flags: '',
      type: 'E',
      extension: 'jar',
    };
    expect(overlapFindings(['aarch64'], [ext, expectedEntry(aarch64)])).toEqual([]);
  });
});
