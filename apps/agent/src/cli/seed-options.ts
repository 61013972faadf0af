import { access, constants, mkdir, writeFile } from 'node:fs/promises';
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
  'mount-point': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export interface SeedValues {
  readonly persistent?: string;
  readonly credential?: string;
  readonly 'preserve-argv0'?: string;
  readonly 'qemu-path'?: string;
  readonly 'qemu-suffix'?: string;
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
  });
}

export async function writeExportFiles(
  format: ExportFormat,
  targets: readonly TargetId[],
  state: DesiredState,
  dir: string,
): Promise<string[]> {
  const files = renderExport(format, targets, state);
  await mkdir(dir, { recursive: true }).catch(() => undefined);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new AgentError(
      'PERMISSION_DENIED',
      `ERROR: cannot write to ${dir}: choose another --exportdir or run as root.`,
    );
  }
  for (const f of files) await writeFile(`${dir}/${f.fileName}`, f.content);
  return files.map((f) => f.fileName);
}
