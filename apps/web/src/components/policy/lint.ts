import {
  credentialFindings,
  flagOptionsOf,
  nativeFamilyFindings,
  overlapFindings,
  TARGET_IDS,
  type KernelEntry,
  type LintFinding,
  type TargetId,
} from '@binfleet/arch-table';

export interface LintContext {
  /** `uname -m` of the fleet's hosts. */
  readonly machines: readonly string[];
  /** Entries of other names on the hosts' kernels, with how many hosts have each. */
  readonly foreignEntries: readonly { readonly entry: KernelEntry; readonly hosts: number }[];
}

/**
 * The agent's guard rails as the form can know them before save (arch-table's registration lint):
 * the C flag's risk, targets native to hosts of the fleet, magic overlapping entries hosts hold.
 */
export function lintPolicy(
  draft: { readonly targets: readonly TargetId[]; readonly flags: string },
  context: LintContext | undefined,
): LintFinding[] {
  const hostsOf = new Map(context?.foreignEntries.map((f) => [f.entry.name, f.hosts]));
  // Empty targets: each host takes what it needs, so any target may meet a foreign entry.
  const overlaps = overlapFindings(
    draft.targets.length ? draft.targets : TARGET_IDS,
    context?.foreignEntries.map((f) => f.entry) ?? [],
  ).map((f) => ({ ...f, message: `${f.message} (on ${plural(hostsOf.get(f.other ?? '') ?? 0, 'host')})` }));
  return [
    ...credentialFindings(flagOptionsOf(draft.flags)),
    ...nativeFamilyFindings(draft.targets, context?.machines ?? []),
    ...overlaps,
  ];
}

const plural = (n: number, word: string) => `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;
