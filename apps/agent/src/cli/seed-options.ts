import { access, constants, stat, writeFile } from 'node:fs/promises';
import { renderExport, type ExportFormat, type TargetId } from '@binfleet/arch-table';
import type { DesiredState } from '@binfleet/agent-contract';
import type { AgentEnv } from '../env.ts';
import { AgentError } from '../errors.ts';
import { desiredState } from '../services/desired-state.ts';
import { yesNo } from './args.ts';

/** The options qemu-binfmt-conf.sh and the seed share, with their short forms. */
export const SEED_OPTIONS = {
  persistent: { type: 'string', short: 'p' },
  credential: { type: 'string', short: 'c' },
  'preserve-argv0': { type: 'string', short: 'g' },
  'ignore-family': { type: 'string', short: 'i' },
  'qemu-path': { type: 'string', short: 'Q' },
  'qemu-suffix': { type: 'string', short: 'F' },
  exportdir: { type: 'string', short: 'e' },
  json: { type: 'boolean' },
} as const;

export interface SeedValues {
  readonly persistent?: string;
  readonly credential?: string;
  readonly 'preserve-argv0'?: string;
  readonly 'qemu-path'?: string;
  readonly 'qemu-suffix'?: string;
  readonly 'force-native'?: boolean;
  readonly 'allow-missing'?: boolean;
}

/** The seed's defaults: emulators in $QEMU_BIN_DIR or /usr/bin, named qemu-<cpu>-static. */
export function desiredFromSeed(values: SeedValues, env: AgentEnv, targets: TargetId[]): DesiredState {
  return desiredState({
    targets,
    interpreterDir: values['qemu-path'] ?? env.qemuBinDir,
    suffix: values['qemu-suffix'] ?? '-static',
    credential: yesNo('--credential', values.credential),
    persistent: yesNo('--persistent', values.persistent),
    preserveArgv0: yesNo('--preserve-argv0', values['preserve-argv0']),
    forceNative: values['force-native'] ?? false,
    allowMissing: values['allow-missing'] ?? false,
  });
}

/**
 * Writes the files into an existing, writable directory, as qemu-binfmt-conf.sh does (it checks
 * `-w DIR` first): a missing directory is a typo more often than a wish, so it is never created.
 * Every failure is an AgentError with a plain message, never a stack trace.
 */
export async function writeExportFiles(
  format: ExportFormat,
  targets: readonly TargetId[],
  state: DesiredState,
  dir: string,
): Promise<string[]> {
  const files = renderExport(format, targets, state);
  const cannot = (why: string) =>
    new AgentError('PERMISSION_DENIED', `ERROR: cannot write to ${dir}: ${why}`);
  const facts = await stat(dir).catch((error: NodeJS.ErrnoException) => error);
  if (facts instanceof Error) {
    throw facts.code === 'ENOENT' || facts.code === 'ENOTDIR'
      ? cannot(`it does not exist. Create it (mkdir -p ${dir}) or give --exportdir an existing directory.`)
      : cannot(`${describeErrno(facts)}. Choose another --exportdir.`);
  }
  if (!facts.isDirectory()) throw cannot('it is not a directory. Give --exportdir a directory.');
  try {
    await access(dir, constants.W_OK);
  } catch (error) {
    throw cannot(
      `${describeErrno(error as NodeJS.ErrnoException)}. Choose another --exportdir or run as root.`,
    );
  }
  for (const f of files) {
    try {
      await writeFile(`${dir}/${f.fileName}`, f.content);
    } catch (error) {
      throw cannot(
        `writing ${f.fileName} failed (${describeErrno(error as NodeJS.ErrnoException)}). Choose another --exportdir.`,
      );
    }
  }
  return files.map((f) => f.fileName);
}

function describeErrno(error: NodeJS.ErrnoException): string {
  const why: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    EISDIR: 'a directory is in the way',
    ENOENT: 'no such file or directory',
  };
  return (error.code && why[error.code]) ?? error.code ?? error.message;
}
