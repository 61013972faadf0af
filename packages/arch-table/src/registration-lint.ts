import { matchesMagic, targetMagicRule, type MagicRule } from './elf-match.ts';
import type { KernelEntry } from './entry-file.ts';
import { fromHex } from './escapes.ts';
import { hostArchOf } from './host-family.ts';
import { getTarget, type TargetId } from './targets.ts';

/**
 * The checks a registration deserves before it reaches a kernel, shared by the agent (which refuses)
 * and the dashboard's policy form (which shows them before save). Pure: the agent reads the host's
 * own executables and the kernel's entries and hands them in.
 */
export type LintCode = 'CREDENTIAL' | 'NATIVE' | 'NATIVE_FAMILY' | 'OVERLAP';

export interface LintFinding {
  readonly code: LintCode;
  readonly message: string;
  readonly target?: TargetId;
  /** OVERLAP: the other entry's name. NATIVE: the host executable it matches. */
  readonly other?: string;
}

export const CREDENTIAL_WARNING =
  'C (credential) is set: setuid and setgid foreign binaries run with the privileges they carry, ' +
  'so a setuid-root binary in any image or chroot becomes root on the host. Use it only for images you trust ' +
  '(sudo inside emulated containers needs it).';

/** The warning for the C flag, or nothing when it is not asked for. */
export function credentialFindings(options: { readonly credential?: boolean }): LintFinding[] {
  return options.credential ? [{ code: 'CREDENTIAL', message: CREDENTIAL_WARNING }] : [];
}

/** The rule of an entry as the kernel shows it (hex), or undefined for an extension entry. */
export function entryMagicRule(entry: KernelEntry): MagicRule | undefined {
  if (entry.type !== 'M') return undefined;
  return {
    offset: entry.offset,
    magic: fromHex(entry.magic),
    ...(entry.mask ? { mask: fromHex(entry.mask) } : {}),
  };
}

/**
 * Whether one file could match both rules: every byte both rules look at agrees under both masks.
 * Rules that look at different bytes always overlap (a file can satisfy each).
 */
export function magicOverlaps(a: MagicRule, b: MagicRule): boolean {
  const from = Math.max(a.offset, b.offset);
  const to = Math.min(a.offset + a.magic.length, b.offset + b.magic.length);
  for (let p = from; p < to; p++) {
    const i = p - a.offset;
    const j = p - b.offset;
    const mask = (a.mask ? a.mask[i]! : 0xff) & (b.mask ? b.mask[j]! : 0xff);
    if (((a.magic[i]! ^ b.magic[j]!) & mask) !== 0) return false;
  }
  return true;
}

/** A program of the host itself: its path and the first bytes of it (128 suffice). */
export interface HostExecutable {
  readonly path: string;
  readonly header: Uint8Array;
}

/**
 * Targets whose entry would take one of the host's own programs: registering them sends the host's
 * programs (its shell, its init, the emulator itself) through QEMU, which breaks the host.
 */
export function nativeFindings(
  targets: readonly TargetId[],
  executables: readonly HostExecutable[],
): LintFinding[] {
  return targets.flatMap((target) => {
    const rule = targetMagicRule(target);
    const hit = executables.find((e) => matchesMagic(e.header, rule));
    return hit
      ? [
          {
            code: 'NATIVE' as const,
            target,
            other: hit.path,
            message: `qemu-${target} would take this host's own programs (its magic matches ${hit.path}): every program on the host would then start through the emulator and fail.`,
          },
        ]
      : [];
  });
}

/**
 * Targets native to hosts of the given machines (`uname -m`): the policy form cannot read a host's
 * binaries, so it warns by family; each agent refuses them by its own executables.
 */
export function nativeFamilyFindings(
  targets: readonly TargetId[],
  machines: readonly string[],
): LintFinding[] {
  const families = new Map<string, string>();
  for (const machine of machines) {
    try {
      families.set(hostArchOf(machine).family, machine);
    } catch {
      // A machine QEMU does not know has no native target among ours.
    }
  }
  return targets.flatMap((target) => {
    const machine = families.get(getTarget(target).family);
    return machine === undefined
      ? []
      : [
          {
            code: 'NATIVE_FAMILY' as const,
            target,
            other: machine,
            message: `${target} is native on ${machine} hosts: their agents refuse to register it (it would break them). Leave targets empty to let each host take what it needs.`,
          },
        ];
  });
}

/**
 * Entries of other names that would take some of the same files as `target`'s entry: the kernel
 * gives a file to the most recently registered match, so one of the two silently stops working.
 */
export function overlapFindings(
  targets: readonly TargetId[],
  entries: readonly KernelEntry[],
): LintFinding[] {
  return targets.flatMap((target) => {
    const rule = targetMagicRule(target);
    return entries.flatMap((entry) => {
      const other = entryMagicRule(entry);
      if (entry.name === `qemu-${target}` || !other || !magicOverlaps(rule, other)) return [];
      return [
        {
          code: 'OVERLAP' as const,
          target,
          other: entry.name,
          message: `qemu-${target} overlaps the entry "${entry.name}" (${entry.interpreter}): both match some of the same files, and the kernel runs whichever was registered last.`,
        },
      ];
    });
  });
}
