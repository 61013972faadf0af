import { ArchTableError } from './errors.ts';
import { getTarget, isTargetId, TARGETS, type TargetId } from './targets.ts';

/**
 * Maps a host architecture name (`uname -m`, or a Debian name given through HOST_ARCH) to the QEMU
 * target it is, as qemu-binfmt-conf.sh's qemu_normalize does.
 */
export function normalizeHostArch(arch: string): string {
  if (/^i[3-6]86$/.test(arch)) return 'i386';
  if (/^armv[4-9].*l$/.test(arch) || arch === 'armel' || arch === 'armhf') return 'arm';
  if (/^armv[4-9].*b$/.test(arch)) return 'armeb';
  const renamed: Record<string, string> = {
    amd64: 'x86_64',
    powerpc: 'ppc',
    ppc64el: 'ppc64le',
    arm64: 'aarch64',
  };
  return renamed[arch] ?? arch;
}

export interface HostArch {
  /** The target the host itself is. */
  readonly cpu: TargetId;
  readonly family: string;
}

export function hostArchOf(arch: string): HostArch {
  const cpu = normalizeHostArch(arch.trim());
  if (!isTargetId(cpu)) {
    throw new ArchTableError(
      'UNKNOWN_HOST_ARCH',
      `Host architecture "${arch}" is not one QEMU emulates; set HOST_ARCH to one of: ${TARGETS.map((t) => t.id).join(' ')}.`,
    );
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
