import { ArchTableError } from './errors.ts';
import { getTarget, isTargetId, TARGETS, type TargetId } from './targets.ts';

/**
 * qemu-binfmt-conf.sh's qemu_normalize as data: shell glob patterns (`*`, `[a-b]`) and the QEMU target a
 * matching host name is; first match wins, anything else is taken as a target id as it is. Data, so that
 * the register image's shell entrypoint is rendered from the same rules (see register-script.ts).
 */
export const HOST_ARCH_RULES: readonly { readonly glob: string; readonly cpu: string }[] = [
  { glob: 'i[3-6]86', cpu: 'i386' },
  { glob: 'armv[4-9]*l', cpu: 'arm' },
  { glob: 'armel', cpu: 'arm' },
  { glob: 'armhf', cpu: 'arm' },
  { glob: 'armv[4-9]*b', cpu: 'armeb' },
  { glob: 'amd64', cpu: 'x86_64' },
  { glob: 'powerpc', cpu: 'ppc' },
  { glob: 'ppc64el', cpu: 'ppc64le' },
  { glob: 'arm64', cpu: 'aarch64' },
];

const globRegex = (glob: string) =>
  new RegExp('^' + glob.replace(/[.+?^${}()|\\]/g, '\\$&').replace(/\*/g, '.*') + '$');
const HOST_ARCH_MATCHERS = HOST_ARCH_RULES.map((r) => ({ test: globRegex(r.glob), cpu: r.cpu }));

/**
 * Maps a host architecture name (`uname -m`, or a Debian name given through HOST_ARCH) to the QEMU
 * target it is, as qemu-binfmt-conf.sh's qemu_normalize does.
 */
export function normalizeHostArch(arch: string): string {
  return HOST_ARCH_MATCHERS.find((m) => m.test.test(arch))?.cpu ?? arch;
}

/** The message for a host that is not a QEMU target; the shell entrypoint prints the same one. */
export function unknownHostArchMessage(arch: string): string {
  return `Host architecture "${arch}" is not one QEMU emulates; set HOST_ARCH to one of: ${TARGETS.map((t) => t.id).join(' ')}.`;
}

export interface HostArch {
  /** The target the host itself is. */
  readonly cpu: TargetId;
  readonly family: string;
}

export function hostArchOf(arch: string): HostArch {
  const cpu = normalizeHostArch(arch.trim());
  if (!isTargetId(cpu)) {
    throw new ArchTableError('UNKNOWN_HOST_ARCH', unknownHostArchMessage(arch));
  }
  return { cpu, family: getTarget(cpu).family };
}

/**
 * Targets qemu-binfmt-conf.sh registers on a host, in its order: every target outside the host's
 * family; with ignoreFamily, every target except the host's own cpu (e.g. riscv32 on riscv64).
 */
export function targetsForHost(arch: string, options: { ignoreFamily?: boolean } = {}): TargetId[] {
  const host = hostArchOf(arch);
  return TARGETS.filter((t) => {
    if (t.family !== host.family) return true;
    const runs = t.id === 'i486' ? 'i386' : t.id;
    return options.ignoreFamily === true && runs !== host.cpu;
  }).map((t) => t.id);
}

/** Whether the host runs a target natively, so that it needs no emulator. */
export function isNativeFor(arch: string, id: TargetId): boolean {
  return !targetsForHost(arch).includes(id);
}
