import { decodeEscapes, encodeEscapes, fromHex, toHex } from './escapes.ts';
import { ArchTableError } from './errors.ts';
import { kernelFlags } from './flags.ts';
import { encodeRegisterLine, type RegisterSpec } from './register-line.ts';

/** An entry as the kernel shows it in `<mount>/<name>`: magic and mask as lower-case hex. */
export type KernelEntry =
  | {
      readonly name: string;
      readonly enabled: boolean;
      readonly interpreter: string;
      /** Kernel order (POCF). */
      readonly flags: string;
      readonly type: 'M';
      readonly offset: number;
      readonly magic: string;
      readonly mask?: string;
    }
  | {
      readonly name: string;
      readonly enabled: boolean;
      readonly interpreter: string;
      readonly flags: string;
      readonly type: 'E';
      readonly extension: string;
    };

/**
 * Parses the text of an entry file:
 *   enabled|disabled / interpreter PATH / flags: POCF / offset N / magic HEX / mask HEX
 * or, for an extension entry, `extension .EXT` instead of offset/magic/mask.
 */
export function parseEntryFile(name: string, text: string): KernelEntry {
  const fail = (why: string): never => {
    throw new ArchTableError('INVALID_ENTRY_FILE', `Entry "${name}" could not be read: ${why}`);
  };
  const lines = text.split('\n').filter((l) => l !== '');
  const state = lines[0];
  if (state !== 'enabled' && state !== 'disabled')
    fail(`first line is "${state ?? ''}", expected enabled or disabled.`);
  const fields = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const m = /^(interpreter|flags:|offset|magic|mask|extension) ?(.*)$/.exec(line);
    if (!m) fail(`unexpected line "${line}".`);
    fields.set(m![1]!.replace(':', ''), m![2]!);
  }
  const interpreter = fields.get('interpreter') ?? fail('no interpreter line.');
  const flags = kernelFlags(fields.get('flags') ?? fail('no flags line.'));
  const enabled = state === 'enabled';
  const extension = fields.get('extension');
  if (extension !== undefined) {
    return { name, enabled, interpreter, flags, type: 'E', extension: extension.replace(/^\./, '') };
  }
  const offset = Number(fields.get('offset') ?? fail('no offset line.'));
  const magic = fields.get('magic') ?? fail('no magic line.');
  if (!/^([0-9a-f]{2})+$/.test(magic)) fail('magic is not hex.');
  const mask = fields.get('mask');
  if (mask !== undefined && !/^([0-9a-f]{2})+$/.test(mask)) fail('mask is not hex.');
  return {
    name,
    enabled,
    interpreter,
    flags,
    type: 'M',
    offset,
    magic,
    ...(mask === undefined ? {} : { mask }),
  };
}

/** The text of an entry file as the kernel prints it (fs/binfmt_misc.c entry_status); parseEntryFile's inverse. */
export function formatEntryFile(entry: KernelEntry): string {
  const lines = [
    entry.enabled ? 'enabled' : 'disabled',
    `interpreter ${entry.interpreter}`,
    `flags: ${entry.flags}`,
  ];
  if (entry.type === 'E') lines.push(`extension .${entry.extension}`);
  else {
    lines.push(`offset ${entry.offset}`, `magic ${entry.magic}`);
    if (entry.mask !== undefined) lines.push(`mask ${entry.mask}`);
  }
  return lines.join('\n') + '\n';
}

/** The registration that makes the kernel show `entry` again (switched on): to put back a saved entry. */
export function registerSpecOfEntry(entry: KernelEntry): RegisterSpec {
  const common = { name: entry.name, interpreter: entry.interpreter, flags: entry.flags };
  if (entry.type === 'E') return { ...common, type: 'E', extension: entry.extension };
  return {
    ...common,
    type: 'M',
    offset: entry.offset,
    magic: encodeEscapes(fromHex(entry.magic)),
    ...(entry.mask === undefined ? {} : { mask: encodeEscapes(fromHex(entry.mask)) }),
  };
}

/** The register line that makes the entry whose file `<mount>/<name>` reads `text` again. */
export function registerLineOfEntryFile(name: string, text: string): string {
  return encodeRegisterLine(registerSpecOfEntry(parseEntryFile(name, text)));
}

/** What the kernel will show after `spec` is written to `register` (entries start enabled). */
export function expectedEntry(spec: RegisterSpec): KernelEntry {
  const common = {
    name: spec.name,
    enabled: true,
    interpreter: spec.interpreter,
    flags: kernelFlags(spec.flags),
  };
  if (spec.type === 'E') return { ...common, type: 'E', extension: spec.extension };
  const mask = spec.mask ? toHex(decodeEscapes(spec.mask)) : undefined;
  return {
    ...common,
    type: 'M',
    offset: spec.offset,
    magic: toHex(decodeEscapes(spec.magic)),
    ...(mask === undefined ? {} : { mask }),
  };
}

export type EntryField =
  'type' | 'interpreter' | 'flags' | 'offset' | 'magic' | 'mask' | 'extension' | 'enabled';

export interface EntryDifference {
  readonly field: EntryField;
  readonly expected: string;
  readonly actual: string;
}

/**
 * How an actual entry differs from the registration we want. `enabled` is compared only when
 * `compareEnabled` is set: a disabled entry is the same registration, switched off.
 */
export function diffEntry(
  actual: KernelEntry,
  desired: RegisterSpec,
  compareEnabled = false,
): EntryDifference[] {
  return diffAgainstExpected(actual, expectedEntry(desired), compareEnabled);
}

/** diffEntry against an entry already computed with expectedEntry (callers comparing many hosts reuse it). */
export function diffAgainstExpected(
  actual: KernelEntry,
  want: KernelEntry,
  compareEnabled = false,
): EntryDifference[] {
  const diffs: EntryDifference[] = [];
  const cmp = (field: EntryField, expected: unknown, got: unknown) => {
    if (String(expected ?? '') !== String(got ?? '')) {
      diffs.push({ field, expected: String(expected ?? ''), actual: String(got ?? '') });
    }
  };
  cmp('type', want.type, actual.type);
  cmp('interpreter', want.interpreter, actual.interpreter);
  cmp('flags', want.flags, actual.flags);
  if (want.type === 'M' && actual.type === 'M') {
    cmp('offset', want.offset, actual.offset);
    cmp('magic', want.magic, actual.magic);
    cmp('mask', want.mask, actual.mask);
  }
  if (want.type === 'E' && actual.type === 'E') cmp('extension', want.extension, actual.extension);
  if (compareEnabled) cmp('enabled', 'enabled', actual.enabled ? 'enabled' : 'disabled');
  return diffs;
}

export function sameRegistration(actual: KernelEntry, desired: RegisterSpec): boolean {
  return diffEntry(actual, desired).length === 0;
}
