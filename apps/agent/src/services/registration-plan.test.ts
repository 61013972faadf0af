import { expectedEntry, targetRegisterSpec, type KernelEntry } from '@binfleet/arch-table';
import { describe, expect, it } from 'vitest';
import { desiredState } from './desired-state.ts';
import { describeConflicts, isNoop, planApply, planReset } from './registration-plan.ts';

const seed = { interpreterDir: '/usr/bin', suffix: '-static' };
const registered = (
  target: 'aarch64' | 's390x',
  persistent: boolean,
  enabled = true,
): [string, KernelEntry] => {
  const entry = expectedEntry(targetRegisterSpec(target, { ...seed, persistent }));
  return [entry.name, { ...entry, enabled }];
};

/** An entry of another name than qemu-*: a reset leaves it alone. */
const other: KernelEntry = {
  name: 'python3.11',
  enabled: true,
  interpreter: '/usr/bin/python3.11',
  flags: '',
  type: 'M',
  offset: 0,
  magic: 'a70d0d0a',
};

describe('planApply', () => {
  const want = desiredState({ targets: ['aarch64', 's390x'], persistent: true });

  it('registers what is missing', () => {
    const plan = planApply(new Map(), want);
    expect(plan.actions.map((a) => a.kind)).toEqual(['register', 'register']);
    expect(plan.conflicts).toEqual([]);
  });

  it('is a no-op when the kernel already holds exactly that', () => {
    const plan = planApply(new Map([registered('aarch64', true), registered('s390x', true)]), want);
    expect(isNoop(plan)).toBe(true);
  });

  it('reports a different entry with what differs, and replaces it only with force or reset', () => {
    const current = new Map([registered('aarch64', false), registered('s390x', true)]);
    const plan = planApply(current, want);
    expect(plan.conflicts).toHaveLength(1);
    expect(describeConflicts(plan.conflicts)).toBe('qemu-aarch64: flags is "", wanted "F"');
    const forced = planApply(current, want, { force: true });
    expect(forced.actions.map((a) => a.kind)).toEqual(['remove', 'register', 'unchanged']);
    const reset = planApply(current, want, { reset: true });
    expect(reset.conflicts).toEqual([]);
    expect(reset.actions.map((a) => a.kind)).toEqual(['remove', 'remove', 'register', 'register']);
  });

  it('reset removes every qemu-* entry, and only those', () => {
    const plan = planApply(
      new Map([
        ['python3.11', other],
        ['qemu-cris', { ...other, name: 'qemu-cris' }],
      ]),
      want,
      { reset: true },
    );
    expect(plan.actions.filter((a) => a.kind === 'remove')).toEqual([
      { kind: 'remove', name: 'qemu-cris', reason: 'reset' },
    ]);
  });

  it('reset plans from the names of qemu-* entries alone: what it does not read cannot change the plan', () => {
    const current = new Map([['python3.11', other], registered('s390x', false), registered('aarch64', true)]);
    const names = [...current.keys()];
    const fromNames = planReset(names, new Map([['python3.11', other]]), want);
    expect(fromNames).toEqual(planApply(current, want, { reset: true }));
    // A qemu-* entry among the others is not looked at either: it goes, and is registered again.
    expect(planReset(names, current, want)).toEqual(fromNames);
    expect(fromNames.actions.map((a) => `${a.kind} ${'name' in a ? a.name : a.target}`)).toEqual([
      'remove qemu-aarch64',
      'remove qemu-s390x',
      'register aarch64',
      'register s390x',
    ]);
  });

  it('keeps a disabled entry disabled when the desired state says so, and re-enables otherwise', () => {
    const current = new Map([registered('aarch64', true, false), registered('s390x', true)]);
    expect(planApply(current, want).actions[0]).toMatchObject({ kind: 'enable', name: 'qemu-aarch64' });
    const keepOff = desiredState({ targets: ['aarch64', 's390x'], persistent: true, disabled: ['aarch64'] });
    expect(isNoop(planApply(current, keepOff))).toBe(true);
  });

  it('refuses bad input before planning', () => {
    expect(() => desiredState({ targets: ['aarch64'], interpreterDir: 'usr/bin' })).toThrowError(/relative/);
    expect(() => desiredState({ targets: ['aarch64'], interpreterDir: '/usr/bin:F' })).toThrowError(/':'/);
    expect(() => desiredState({ targets: ['pdp11' as 'aarch64'] })).toThrowError(/targets/);
  });
});
