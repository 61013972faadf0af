import { ALIASES, MAGIC_WINDOW_BYTES, matchTargets, type TargetId } from '@binfleet/arch-table';
import type { HostOs } from '../adapters/host-os.ts';

/** Where a target's static busybox may sit: `<dir>/<debian-arch>/busybox` (arm64, armhf...) or `<dir>/<target>/busybox`. */
export function probeCandidates(probeDir: string, target: TargetId): string[] {
  const folders = [...new Set([...ALIASES[target].debian, target])];
  return folders.map((folder) => `${probeDir.replace(/\/+$/, '')}/${folder}/busybox`);
}

/**
 * The first candidate whose ELF header the target's own magic accepts, so that a misplaced file
 * (an armhf busybox in arm64/) is reported instead of testing the wrong emulator.
 */
export async function findProbeBinary(
  os: HostOs,
  probeDir: string,
  target: TargetId,
): Promise<{ path: string } | { reason: string }> {
  const candidates = probeCandidates(probeDir, target);
  const mismatches: string[] = [];
  for (const path of candidates) {
    const head = await os.readHead(path, MAGIC_WINDOW_BYTES);
    if (head === undefined) continue;
    const matches = matchTargets(head);
    if (matches.includes(target)) return { path };
    mismatches.push(
      `${path} is ${matches.length > 0 ? `a ${matches.join('/')} binary` : 'not an executable ELF file'}`,
    );
  }
  if (mismatches.length > 0) return { reason: `no ${target} probe binary: ${mismatches.join('; ')}` };
  return {
    reason: `no ${target} probe binary: put a static busybox of that architecture at ${candidates.join(' or ')}`,
  };
}
