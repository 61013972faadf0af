import { expectedEntry, targetRegisterSpec } from '@binfleet/arch-table';
import { describe, expect, it } from 'vitest';
import { lintPolicy } from './lint.ts';

const boxArm64 = {
  ...expectedEntry(targetRegisterSpec('aarch64', { interpreterDir: '/usr/bin' })),
  name: 'box-arm64',
  interpreter: '/usr/local/bin/box64',
};

describe('lintPolicy (the form lint before save)', () => {
  it('says nothing about an ordinary policy', () => {
    expect(
      lintPolicy({ targets: ['s390x'], flags: 'F' }, { machines: ['x86_64'], foreignEntries: [] }),
    ).toEqual([]);
  });

  it('warns about C, targets native to the fleet machines and magic that overlaps hosts entries', () => {
    const findings = lintPolicy(
      { targets: ['aarch64', 's390x'], flags: 'OCF' },
      { machines: ['x86_64', 'aarch64'], foreignEntries: [{ entry: boxArm64, hosts: 3 }] },
    );
    expect(findings.map((f) => [f.code, f.target])).toEqual([
      ['CREDENTIAL', undefined],
      ['NATIVE_FAMILY', 'aarch64'],
      ['OVERLAP', 'aarch64'],
    ]);
    expect(findings[2]!.message).toMatch(/"box-arm64" .*\(on 3 hosts\)$/);
  });

  it('with empty targets (each host takes what it needs) checks every target for overlaps, none for nativeness', () => {
    const findings = lintPolicy(
      { targets: [], flags: '' },
      { machines: ['aarch64'], foreignEntries: [{ entry: boxArm64, hosts: 1 }] },
    );
    expect(findings.map((f) => f.code)).toEqual(['OVERLAP']);
    expect(findings[0]!.message).toMatch(/\(on 1 host\)$/);
  });

  it('lints C alone while the fleet context is loading', () => {
    expect(lintPolicy({ targets: ['aarch64'], flags: 'OC' }, undefined).map((f) => f.code)).toEqual([
      'CREDENTIAL',
    ]);
  });
});
