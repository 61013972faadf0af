import { ArchTableError } from './errors.ts';

/** binfmt_misc flags: P preserve-argv0, O open-binary, C credentials (implies O), F fix-binary. */
export type BinfmtFlag = 'P' | 'O' | 'C' | 'F';

export interface FlagOptions {
  readonly credential?: boolean;
  readonly persistent?: boolean;
  readonly preserveArgv0?: boolean;
}

/** The flags string in qemu-binfmt-conf.sh's order: credential -> OC, persistent -> F, preserve-argv0 -> P. */
export function scriptFlags(options: FlagOptions): string {
  return (
    (options.credential ? 'OC' : '') + (options.persistent ? 'F' : '') + (options.preserveArgv0 ? 'P' : '')
  );
}

/**
 * The flags as the kernel prints them in an entry file (`flags: POCF` order), with C implying O.
 * Rejects anything but P, O, C, F so that no other character reaches a register line.
 */
export function kernelFlags(flags: string): string {
  const seen = new Set<string>();
  for (const ch of flags) {
    if (!'POCF'.includes(ch)) {
      throw new ArchTableError(
        'INVALID_FLAGS',
        `Unknown binfmt_misc flag "${/^[\x20-\x7e]$/.test(ch) ? ch : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`}": use only P (preserve-argv0), O (open-binary), C (credential), F (persistent).`,
      );
    }
    seen.add(ch);
  }
  if (seen.has('C')) seen.add('O');
  return ['P', 'O', 'C', 'F'].filter((f) => seen.has(f)).join('');
}

export function flagOptionsOf(flags: string): Required<FlagOptions> {
  const k = kernelFlags(flags);
  return { credential: k.includes('C'), persistent: k.includes('F'), preserveArgv0: k.includes('P') };
}
