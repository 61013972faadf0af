import { decodeEscapes } from './escapes.ts';
import { TARGETS, type TargetId } from './targets.ts';

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

const TARGET_RULES = TARGETS.map((t) => ({
  id: t.id as TargetId,
  rule: { offset: 0, magic: decodeEscapes(t.magic), mask: decodeEscapes(t.mask) },
}));

/** Every target whose entry would accept a file starting with `header` (the first 128 bytes suffice). */
export function matchTargets(header: Uint8Array): TargetId[] {
  return TARGET_RULES.filter((t) => matchesMagic(header, t.rule)).map((t) => t.id);
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
