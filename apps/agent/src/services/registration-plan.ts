import {
  diffEntry,
  encodeRegisterLine,
  targetRegisterSpec,
  type EntryDifference,
  type KernelEntry,
  type RegisterSpec,
  type TargetId,
} from '@binfleet/arch-table';
import type { DesiredState } from '@binfleet/agent-contract';

export interface ApplyOptions {
  /** Remove every qemu-* entry first, like the seed's `--reset`. */
  readonly reset?: boolean;
  /** Replace entries that differ, and register beside entries of other names that overlap, instead of refusing. */
  readonly force?: boolean;
}

export type PlannedAction =
  | { readonly kind: 'remove'; readonly name: string; readonly reason: 'reset' | 'replace' }
  | {
      readonly kind: 'register';
      readonly target: TargetId;
      readonly line: string;
      readonly spec: RegisterSpec;
    }
  | { readonly kind: 'enable' | 'disable'; readonly target: TargetId; readonly name: string }
  | { readonly kind: 'unchanged'; readonly target: TargetId; readonly name: string };

export interface Conflict {
  readonly target: TargetId;
  readonly name: string;
  readonly differences: readonly EntryDifference[];
}

export interface Plan {
  readonly actions: readonly PlannedAction[];
  /** Entries that differ from what is wanted and would be replaced only with reset or force. */
  readonly conflicts: readonly Conflict[];
}

export const entryNameOf = (target: TargetId) => `qemu-${target}`;

/** Whether an entry name is one `--reset` removes, whatever it holds (every qemu-*, like the seed). */
export const isResetName = (name: string) => name.startsWith('qemu-');

/**
 * What to write so that the kernel holds exactly `desired` for its targets. Pure: from the entries
 * the kernel shows now. Identical entries are left alone (registering twice is a no-op, never the
 * seed's `write error: File exists`).
 */
export function planApply(
  current: ReadonlyMap<string, KernelEntry>,
  desired: DesiredState,
  options: ApplyOptions = {},
): Plan {
  return options.reset
    ? planReset([...current.keys()], current, desired, options)
    : planOver(current, desired, options);
}

/**
 * planApply with reset, from what it needs of the kernel: the names of every entry (the qemu-* ones go
 * whatever they hold, so their text need not be read) and the entries of the other names (any
 * qemu-* entry among them is looked at no more than with the rest).
 */
export function planReset(
  names: readonly string[],
  others: ReadonlyMap<string, KernelEntry>,
  desired: DesiredState,
  options: Omit<ApplyOptions, 'reset'> = {},
): Plan {
  const removals: PlannedAction[] = names
    .filter(isResetName)
    .sort()
    .map((name) => ({ kind: 'remove', name, reason: 'reset' }));
  const rest = planOver(new Map([...others].filter(([name]) => !isResetName(name))), desired, options);
  return { actions: [...removals, ...rest.actions], conflicts: rest.conflicts };
}

function planOver(
  present: ReadonlyMap<string, KernelEntry>,
  desired: DesiredState,
  options: Omit<ApplyOptions, 'reset'>,
): Plan {
  const actions: PlannedAction[] = [];
  const conflicts: Conflict[] = [];
  for (const target of desired.targets) {
    const spec = targetRegisterSpec(target, desired);
    const line = encodeRegisterLine(spec);
    const name = spec.name;
    const existing = present.get(name);
    const wantEnabled = !desired.disabled.includes(target);
    if (existing === undefined) {
      actions.push({ kind: 'register', target, line, spec });
      if (!wantEnabled) actions.push({ kind: 'disable', target, name });
      continue;
    }
    const differences = diffEntry(existing, spec);
    if (differences.length === 0) {
      if (existing.enabled !== wantEnabled)
        actions.push({ kind: wantEnabled ? 'enable' : 'disable', target, name });
      else actions.push({ kind: 'unchanged', target, name });
    } else if (options.force) {
      actions.push({ kind: 'remove', name, reason: 'replace' });
      actions.push({ kind: 'register', target, line, spec });
      if (!wantEnabled) actions.push({ kind: 'disable', target, name });
    } else {
      conflicts.push({ target, name, differences });
    }
  }
  return { actions, conflicts };
}

/** True when applying the plan would change nothing in the kernel. */
export function isNoop(plan: Plan): boolean {
  return plan.conflicts.length === 0 && plan.actions.every((a) => a.kind === 'unchanged');
}

/** One line per distinct difference, naming every entry that has it (31 entries often differ alike). */
export function describeConflicts(conflicts: readonly Conflict[]): string {
  const byDifference = new Map<string, string[]>();
  for (const c of conflicts) {
    const what = c.differences.map((d) => `${d.field} is "${d.actual}", wanted "${d.expected}"`).join('; ');
    byDifference.set(what, [...(byDifference.get(what) ?? []), c.name]);
  }
  return [...byDifference].map(([what, names]) => `${names.join(', ')}: ${what}`).join('\n');
}
