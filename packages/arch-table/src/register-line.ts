import { decodeEscapes } from './escapes.ts';
import { ArchTableError } from './errors.ts';
import { kernelFlags, scriptFlags, type FlagOptions } from './flags.ts';
import { getTarget, type TargetId } from './targets.ts';

/** Kernel limits (fs/binfmt_misc.c), kept portable to kernels older than the one we test on. */
export const REGISTER_LINE_MAX = 1920;
export const MAGIC_WINDOW_BYTES = 128;
export const INTERPRETER_MAX = 127;

/** One binfmt_misc registration: what `:name:type:offset:magic:mask:interpreter:flags` says. */
export type RegisterSpec =
  | {
      readonly name: string;
      readonly type: 'M';
      readonly offset: number;
      /** Register-file notation (`\xNN` escapes), exactly as written. */
      readonly magic: string;
      readonly mask?: string;
      readonly interpreter: string;
      readonly flags: string;
    }
  | {
      readonly name: string;
      readonly type: 'E';
      readonly extension: string;
      readonly interpreter: string;
      readonly flags: string;
    };

const ENTRY_NAME = /^[A-Za-z0-9_+-][A-Za-z0-9_.+-]{0,63}$/;

/**
 * What passed the checks before, by exact input: an agent's apply builds and checks the same 31 lines
 * (each target's path three times) on every call. Kept up to KEPT each, then started afresh.
 */
const acceptedPaths = new Map<string, string>();
const acceptedLines = new Map<string, string>();
const KEPT = 512;

function remember(kept: Map<string, string>, key: string, value: string): string {
  if (kept.size >= KEPT) kept.clear();
  kept.set(key, value);
  return value;
}

/** A binfmt_misc entry name binfleet registers, reads or removes: 1-64 of [A-Za-z0-9_.+-], not starting with '.'. */
export const isEntryName = (name: string): boolean => ENTRY_NAME.test(name);

export function validateEntryName(name: string): string {
  if (!isEntryName(name)) {
    throw new ArchTableError(
      'INVALID_REGISTER_LINE',
      `Entry name "${printable(name)}" is not allowed: use 1-64 letters, digits, '_', '+', '-', '.' (not starting with '.').`,
    );
  }
  return name;
}

/**
 * An interpreter path safe to put in a register line: absolute, normalised, plain path characters
 * (no ':', whitespace, quotes or shell metacharacters).
 * The kernel itself accepts relative paths and resolves them per process; we never want that.
 */
export function validateInterpreterPath(path: string): string {
  if (acceptedPaths.has(path)) return path;
  const fail = (why: string): never => {
    throw new ArchTableError('INVALID_INTERPRETER', `Interpreter path "${printable(path)}" ${why}`);
  };
  if (path.length === 0) fail('is empty: give an absolute path such as /usr/bin/qemu-aarch64-static.');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what we refuse
  if (/[\u0000-\u001f\u007f]/.test(path)) fail('contains a control character (newline, NUL...): remove it.');
  if (/[^\u0020-\u007e]/.test(path)) fail('contains non-ASCII characters: use a plain ASCII path.');
  if (path.includes(':')) fail("contains ':', which would split the register line: use a path without ':'.");
  // Whitespace, quotes and shell metacharacters: harmless in the register file itself, but the path
  // also goes into exported files and scripts, and no emulator install needs them.
  const odd = /[^A-Za-z0-9._+,=@%~/-]/.exec(path)?.[0];
  if (odd !== undefined)
    fail(`contains ${JSON.stringify(odd)}: use only letters, digits and . _ + , = @ % ~ - /.`);
  if (!path.startsWith('/')) fail('is relative: give an absolute path such as /usr/bin/qemu-aarch64-static.');
  if (path.split('/').some((seg) => seg === '.' || seg === '..'))
    fail("contains '.' or '..' segments: give the real path.");
  if (path.endsWith('/')) fail('ends with "/": name the interpreter file, not a directory.');
  if (path.length > INTERPRETER_MAX)
    fail(`is ${path.length} characters: the kernel allows at most ${INTERPRETER_MAX}.`);
  return remember(acceptedPaths, path, path);
}

/** A directory in which interpreters live, checked with the same rules as a path. */
export function validateInterpreterDir(dir: string): string {
  const trimmed = dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
  if (trimmed === '/') return '/';
  validateInterpreterPath(trimmed);
  return trimmed;
}

/** A suffix appended to `qemu-<cpu>`: only characters that are safe in a file name. */
export function validateInterpreterSuffix(suffix: string): string {
  if (!/^[A-Za-z0-9._+-]{0,32}$/.test(suffix)) {
    throw new ArchTableError(
      'INVALID_INTERPRETER',
      `Interpreter suffix "${printable(suffix)}" is not allowed: use up to 32 letters, digits, '.', '_', '+', '-' (e.g. -static).`,
    );
  }
  return suffix;
}

export interface TargetRegisterOptions extends FlagOptions {
  /** Directory of the emulators (the seed: /usr/bin; qemu's script: /usr/local/bin). */
  readonly interpreterDir: string;
  /** Appended to the emulator name (the seed: -static). */
  readonly suffix?: string;
}

/** The register spec qemu-binfmt-conf.sh writes for a target: entry `qemu-<cpu>`, offset 0. */
export function targetRegisterSpec(id: TargetId, options: TargetRegisterOptions): RegisterSpec {
  const target = getTarget(id);
  const dir = validateInterpreterDir(options.interpreterDir);
  const suffix = validateInterpreterSuffix(options.suffix ?? '');
  return {
    name: `qemu-${target.id}`,
    type: 'M',
    offset: 0,
    magic: target.magic,
    mask: target.mask,
    interpreter: validateInterpreterPath(`${dir === '/' ? '' : dir}/${target.interpreter}${suffix}`),
    flags: scriptFlags(options),
  };
}

/** Validates a spec against the kernel's rules and ours; returns the line to write into `register`. */
export function encodeRegisterLine(spec: RegisterSpec): string {
  const key = JSON.stringify(
    spec.type === 'M'
      ? [spec.name, 'M', spec.offset, spec.magic, spec.mask ?? null, spec.interpreter, spec.flags]
      : [spec.name, 'E', spec.extension, spec.interpreter, spec.flags],
  );
  return acceptedLines.get(key) ?? remember(acceptedLines, key, checkedRegisterLine(spec));
}

function checkedRegisterLine(spec: RegisterSpec): string {
  validateEntryName(spec.name);
  validateInterpreterPath(spec.interpreter);
  kernelFlags(spec.flags);
  let body: string;
  if (spec.type === 'M') {
    if (!Number.isInteger(spec.offset) || spec.offset < 0) {
      throw new ArchTableError(
        'INVALID_REGISTER_LINE',
        `Offset ${spec.offset} must be a non-negative integer.`,
      );
    }
    const magic = decodeEscapes(spec.magic);
    if (magic.length === 0)
      throw new ArchTableError('INVALID_REGISTER_LINE', 'Magic is empty: give the bytes to match.');
    if (spec.mask !== undefined && spec.mask !== '') {
      const mask = decodeEscapes(spec.mask);
      if (mask.length !== magic.length) {
        throw new ArchTableError(
          'INVALID_REGISTER_LINE',
          `Mask is ${mask.length} bytes but magic is ${magic.length}: they must be the same length.`,
        );
      }
    }
    if (spec.offset + magic.length > MAGIC_WINDOW_BYTES) {
      throw new ArchTableError(
        'INVALID_REGISTER_LINE',
        `Offset + magic length is ${spec.offset + magic.length} bytes: it must lie within the first ${MAGIC_WINDOW_BYTES} bytes of the file.`,
      );
    }
    body = `M:${spec.offset === 0 ? '' : spec.offset}:${spec.magic}:${spec.mask ?? ''}`;
  } else {
    if (!/^[A-Za-z0-9_+-]{1,32}$/.test(spec.extension)) {
      throw new ArchTableError(
        'INVALID_REGISTER_LINE',
        `Extension "${printable(spec.extension)}" is not allowed: give 1-32 letters, digits, '_', '+', '-' without the dot.`,
      );
    }
    body = `E::${spec.extension}:`;
  }
  const line = `:${spec.name}:${body}:${spec.interpreter}:${spec.flags}`;
  if (line.length > REGISTER_LINE_MAX) {
    throw new ArchTableError(
      'INVALID_REGISTER_LINE',
      `Register line is ${line.length} characters: the kernel accepts at most ${REGISTER_LINE_MAX}.`,
    );
  }
  return line;
}

/** Parses `:name:type:offset:magic:mask:interpreter:flags` (any delimiter, as the kernel allows). */
export function parseRegisterLine(input: string): RegisterSpec {
  const line = input.replace(/\n$/, '');
  const delimiter = line[0];
  if (delimiter === undefined || line.length > REGISTER_LINE_MAX) {
    throw new ArchTableError(
      'INVALID_REGISTER_LINE',
      `Not a register line: expected ":name:type:offset:magic:mask:interpreter:flags".`,
    );
  }
  const parts = line.slice(1).split(delimiter);
  if (parts.length !== 7) {
    throw new ArchTableError(
      'INVALID_REGISTER_LINE',
      `A register line has 7 fields after the delimiter, this one has ${parts.length}: ":name:type:offset:magic:mask:interpreter:flags".`,
    );
  }
  const [name, type, offset, magic, mask, interpreter, flags] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  let spec: RegisterSpec;
  if (type === 'M') {
    if (!/^\d*$/.test(offset))
      throw new ArchTableError('INVALID_REGISTER_LINE', `Offset "${printable(offset)}" is not a number.`);
    spec = {
      name,
      type,
      offset: offset === '' ? 0 : Number(offset),
      magic,
      ...(mask === '' ? {} : { mask }),
      interpreter,
      flags,
    };
  } else if (type === 'E') {
    spec = { name, type, extension: magic, interpreter, flags };
  } else {
    throw new ArchTableError(
      'INVALID_REGISTER_LINE',
      `Type "${printable(type)}" is unknown: use M (magic) or E (extension).`,
    );
  }
  encodeRegisterLine(spec);
  return spec;
}

/**
 * For error messages: shows control characters, and the invisible or direction-changing Unicode
 * that could make a log line read differently, instead of printing them.
 */
export function printable(text: string): string {
  const shown = text.length > 80 ? text.slice(0, 80) + '…' : text;
  // eslint-disable-next-line no-control-regex -- made visible on purpose
  const control = /[\u0000-\u001f\u007f-\u009f]/g;
  const invisible = /[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
  return shown
    .replace(control, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'))
    .replace(invisible, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
