import { expectedEntry, targetRegisterSpec, type KernelEntry, type TargetId } from '@binfleet/arch-table';
import { describe, expect, it } from 'vitest';
import { cellsOf } from './fleet-view.ts';
import { computeDrift, type PolicySpec } from './policy.ts';

const POLICY: PolicySpec = {
  targets: ['aarch64', 's390x', 'riscv64', 'ppc64le'],
  flags: 'F',
  interpreterDir: '/usr/bin',
  suffix: '-static',
  autoHeal: false,
};

/** The entry the kernel shows for a target registered exactly as POLICY wants, with changes. */
const entry = (target: TargetId, change: Partial<KernelEntry> = {}): KernelEntry =>
  ({
    ...expectedEntry(
      targetRegisterSpec(target, { interpreterDir: '/usr/bin', suffix: '-static', persistent: true }),
    ),
    ...change,
  }) as KernelEntry;

const kinds = (entries: readonly KernelEntry[]) =>
  computeDrift(POLICY, 'x86_64', entries).map((d) => `${d.target} ${d.kind}`);

describe('computeDrift', () => {
  const inPolicy = POLICY.targets.map((t) => entry(t));

  it('finds none on a host registered as its policy says', () => {
    expect(computeDrift(POLICY, 'x86_64', inPolicy)).toEqual([]);
  });

  it.each([
    ['wrong-flags', 'a flag more', entry('aarch64', { flags: 'PF' })],
    ['wrong-flags', 'a flag less', entry('aarch64', { flags: '' })],
    ['wrong-interpreter', 'another path', entry('aarch64', { interpreter: '/opt/qemu/qemu-aarch64-static' })],
    ['wrong-magic', 'another magic', entry('aarch64', { magic: '7f454c46' })],
    ['disabled', 'switched off', entry('aarch64', { enabled: false })],
  ] as const)('reports an entry with one difference as %s (%s), and only that', (kind, _how, changed) => {
    const entries = inPolicy.map((e) => (e.name === changed.name ? changed : e));
    expect(kinds(entries)).toEqual([`aarch64 ${kind}`]);
  });

  it('reports a wanted target that is not registered as missing', () => {
    expect(kinds(inPolicy.filter((e) => e.name !== 'qemu-s390x'))).toEqual(['s390x missing']);
  });

  it('reports a qemu entry the policy does not want as extra, and leaves foreign entries alone', () => {
    const foreign: KernelEntry = {
      name: 'jar',
      enabled: true,
      interpreter: '/usr/bin/java',
      flags: '',
      type: 'E',
      extension: 'jar',
    };
    expect(kinds([...inPolicy, entry('mips'), foreign])).toEqual(['mips extra']);
  });

  it('reports every kind at once, each against its own target', () => {
    const host = [
      entry('aarch64', { flags: 'PF' }),
      entry('s390x', { interpreter: '/usr/bin/qemu-aarch64-static' }),
      entry('riscv64', { enabled: false }),
      entry('mips'),
    ];
    expect(kinds(host).sort()).toEqual([
      'aarch64 wrong-flags',
      'mips extra',
      'ppc64le missing',
      'riscv64 disabled',
      's390x wrong-interpreter',
    ]);
    // The fleet matrix shows each kind as its own cell state.
    const cells = cellsOf(POLICY.targets, host, computeDrift(POLICY, 'x86_64', host));
    expect(cells).toEqual({
      aarch64: { state: 'drifted' },
      s390x: { state: 'drifted' },
      riscv64: { state: 'disabled' },
      ppc64le: { state: 'missing' },
      mips: { state: 'extra' },
    });
  });

  it('wants what the host needs when the policy names no targets', () => {
    const needs = computeDrift({ ...POLICY, targets: [] }, 'x86_64', []);
    expect(needs.length).toBeGreaterThan(20);
    expect(needs.every((d) => d.kind === 'missing')).toBe(true);
    expect(needs.map((d) => d.target)).not.toContain('x86_64');
  });
});
