import { encodeRegisterLine, targetRegisterSpec, type TargetRegisterOptions } from './register-line.ts';
import type { TargetId } from './targets.ts';

export interface ExportFile {
  readonly fileName: string;
  readonly content: string;
}

/** `qemu-<cpu>.conf` for systemd-binfmt: the register line, as qemu-binfmt-conf.sh --systemd writes it. */
export function renderSystemdConf(id: TargetId, options: TargetRegisterOptions): ExportFile {
  return { fileName: `qemu-${id}.conf`, content: encodeRegisterLine(targetRegisterSpec(id, options)) + '\n' };
}

const yesNo = (v: boolean | undefined) => (v ? 'yes' : 'no');

/** `qemu-<cpu>` update-binfmts template, as qemu-binfmt-conf.sh --debian writes it. */
export function renderDebianTemplate(id: TargetId, options: TargetRegisterOptions): ExportFile {
  const spec = targetRegisterSpec(id, options);
  if (spec.type !== 'M') throw new Error('qemu targets are magic entries');
  encodeRegisterLine(spec);
  const content = [
    `package qemu-${id}`,
    `interpreter ${spec.interpreter}`,
    `magic ${spec.magic}`,
    `mask ${spec.mask ?? ''}`,
    `credentials ${yesNo(options.credential)}`,
    `preserve ${yesNo(options.preserveArgv0)}`,
    `fix_binary ${yesNo(options.persistent)}`,
  ].join('\n');
  return { fileName: `qemu-${id}`, content: content + '\n' };
}

export type ExportFormat = 'systemd' | 'debian';

export function renderExport(
  format: ExportFormat,
  ids: readonly TargetId[],
  options: TargetRegisterOptions,
): ExportFile[] {
  const render = format === 'systemd' ? renderSystemdConf : renderDebianTemplate;
  return ids.map((id) => render(id, options));
}
