import { decodeEscapes } from './escapes.ts';
import { getTarget, TARGETS, type TargetId } from './targets.ts';

export interface MagicRule {
  readonly offset: number;
  readonly magic: Uint8Array;
  readonly mask?: Uint8Array;
}

/** The kernel's test (fs/binfmt_misc.c check_file): every byte equal under the mask. */
export function matchesMagic(header: Uint8Array, rule: MagicRule): boolean {
  if (header.length < rule.offset + rule.magic.length) return false;
  for (let i = 0; i < rule.magic.length; i++) {
    const mask = rule.mask ? rule.mask[i]! : 0xff;
    if (((header[rule.offset + i]! ^ rule.magic[i]!) & mask) !== 0) return false;
  }
  return true;
}

/**
 * The magic/mask rule a target registers with (qemu-binfmt-conf.sh's bytes, offset 0). Decoded on first
 * use, once per target, and shared (the agent checks every target on each apply; a CLI run that checks
 * none decodes none): read it, never write to it.
 */
export function targetMagicRule(id: TargetId): MagicRule {
  let rule = magicRules.get(id);
  if (rule === undefined) {
    const t = getTarget(id);
    rule = Object.freeze({ offset: 0, magic: decodeEscapes(t.magic), mask: decodeEscapes(t.mask) });
    magicRules.set(id, rule);
  }
  return rule;
}

const magicRules = new Map<TargetId, MagicRule>();

/** Every target whose entry would accept a file starting with `header` (the first 128 bytes suffice). */
export function matchTargets(header: Uint8Array): TargetId[] {
  return TARGETS.filter((t) => matchesMagic(header, targetMagicRule(t.id))).map((t) => t.id);
}

/**
 * The entry the kernel would pick among registered ones: it searches the most recently registered
 * first. `entries` is in registration order; disabled entries are skipped like the kernel does.
 */
export function kernelPick<T extends { readonly enabled: boolean; readonly rule: MagicRule }>(
  header: Uint8Array,
  entries: readonly T[],
): T | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (e.enabled && matchesMagic(header, e.rule)) return e;
  }
  return undefined;
}
