import { ArchTableError } from './errors.ts';
import { printable } from './register-line.ts';
import { isTargetId, TARGETS, type TargetId } from './targets.ts';

export interface DockerPlatform {
  readonly os: 'linux';
  readonly architecture: string;
  readonly variant?: string;
}

export interface TargetAliases {
  /** What `uname -m` prints on such a machine. */
  readonly uname: readonly string[];
  /** Docker/OCI platforms whose images run on this target; the first is the canonical one. */
  readonly docker: readonly DockerPlatform[];
  /** Official-image namespaces on Docker Hub (arm64v8/ubuntu). */
  readonly officialImage: readonly string[];
  /** Debian architecture names (dpkg --print-architecture). */
  readonly debian: readonly string[];
}

const none: TargetAliases = { uname: [], docker: [], officialImage: [], debian: [] };
const linux = (architecture: string, variant?: string): DockerPlatform =>
  variant ? { os: 'linux', architecture, variant } : { os: 'linux', architecture };

export const ALIASES: Readonly<Record<TargetId, TargetAliases>> = {
  i386: {
    uname: ['i386', 'i586', 'i686'],
    docker: [linux('386')],
    officialImage: ['i386'],
    debian: ['i386'],
  },
  i486: { ...none, uname: ['i486'] },
  alpha: { uname: ['alpha'], docker: [], officialImage: [], debian: ['alpha'] },
  arm: {
    uname: ['armv7l', 'armv6l', 'armv5tel', 'armv5l', 'armv8l', 'arm'],
    docker: [linux('arm', 'v7'), linux('arm', 'v6'), linux('arm', 'v5'), linux('arm')],
    officialImage: ['arm32v7', 'arm32v6', 'arm32v5'],
    debian: ['armhf', 'armel'],
  },
  armeb: { uname: ['armv7b', 'armv5b', 'armeb'], docker: [], officialImage: [], debian: [] },
  sparc: { uname: ['sparc'], docker: [], officialImage: [], debian: ['sparc'] },
  sparc32plus: none,
  sparc64: { uname: ['sparc64'], docker: [], officialImage: [], debian: ['sparc64'] },
  ppc: { uname: ['ppc'], docker: [], officialImage: [], debian: ['powerpc'] },
  ppc64: { uname: ['ppc64'], docker: [linux('ppc64')], officialImage: [], debian: ['ppc64'] },
  ppc64le: {
    uname: ['ppc64le'],
    docker: [linux('ppc64le')],
    officialImage: ['ppc64le'],
    debian: ['ppc64el'],
  },
  m68k: { uname: ['m68k'], docker: [], officialImage: [], debian: ['m68k'] },
  mips: { uname: ['mips'], docker: [linux('mips')], officialImage: [], debian: ['mips'] },
  mipsel: { uname: [], docker: [linux('mipsle')], officialImage: [], debian: ['mipsel'] },
  mipsn32: { ...none, debian: ['mipsn32'] },
  mipsn32el: { ...none, debian: ['mipsn32el'] },
  mips64: { uname: ['mips64'], docker: [linux('mips64')], officialImage: [], debian: ['mips64'] },
  mips64el: { uname: [], docker: [linux('mips64le')], officialImage: ['mips64le'], debian: ['mips64el'] },
  sh4: { uname: ['sh4', 'sh4a'], docker: [], officialImage: [], debian: ['sh4'] },
  sh4eb: { uname: ['sh4eb', 'sh4aeb'], docker: [], officialImage: [], debian: [] },
  s390x: { uname: ['s390x'], docker: [linux('s390x')], officialImage: ['s390x'], debian: ['s390x'] },
  aarch64: {
    uname: ['aarch64'],
    docker: [linux('arm64'), linux('arm64', 'v8')],
    officialImage: ['arm64v8'],
    debian: ['arm64'],
  },
  aarch64_be: { uname: ['aarch64_be'], docker: [], officialImage: [], debian: [] },
  hppa: { uname: ['parisc', 'parisc64'], docker: [], officialImage: [], debian: ['hppa'] },
  riscv32: { uname: ['riscv32'], docker: [], officialImage: [], debian: ['riscv32'] },
  riscv64: {
    uname: ['riscv64'],
    docker: [linux('riscv64')],
    officialImage: ['riscv64'],
    debian: ['riscv64'],
  },
  xtensa: { uname: ['xtensa'], docker: [], officialImage: [], debian: [] },
  xtensaeb: none,
  microblaze: { uname: ['microblaze'], docker: [], officialImage: [], debian: [] },
  microblazeel: none,
  or1k: { uname: ['openrisc', 'or1k'], docker: [], officialImage: [], debian: ['or1k'] },
  x86_64: { uname: ['x86_64'], docker: [linux('amd64')], officialImage: ['amd64'], debian: ['amd64'] },
  hexagon: { uname: ['hexagon'], docker: [], officialImage: [], debian: [] },
  loongarch64: {
    uname: ['loongarch64'],
    docker: [linux('loong64')],
    officialImage: ['loong64'],
    debian: ['loong64'],
  },
};

export type AliasKind = 'target' | 'interpreter' | 'uname' | 'docker' | 'official-image' | 'debian';

export function formatPlatform(p: DockerPlatform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

const lookup = new Map<string, Set<TargetId>>();
const add = (key: string, id: TargetId) => {
  const k = key.toLowerCase();
  if (!lookup.has(k)) lookup.set(k, new Set());
  lookup.get(k)!.add(id);
};
for (const t of TARGETS) {
  const id = t.id as TargetId;
  const a = ALIASES[id];
  add(id, id);
  add(`qemu-${id}`, id);
  for (const u of a.uname) add(u, id);
  for (const d of a.debian) add(d, id);
  for (const o of a.officialImage) add(o, id);
  for (const p of a.docker) {
    add(formatPlatform(p), id);
    // `arm64` alone (without linux/) names the same thing as linux/arm64.
    add(p.variant ? `${p.architecture}/${p.variant}` : p.architecture, id);
  }
}

/** Every name the resolver accepts, for help texts and completion. */
export function knownArchNames(): string[] {
  return [...lookup.keys()].sort();
}

/**
 * Turns any architecture name users type into targets: a target id (aarch64), an emulator name
 * (qemu-aarch64), `uname -m` (armv7l), a Docker platform (linux/arm/v7, arm64), an official-image
 * prefix (arm64v8) or a Debian architecture (armhf). Case-insensitive; `ALL` means every target.
 */
export function resolveArch(input: string): TargetId[] {
  // Only spaces are forgiven: a tab, newline or any other control character makes the name unknown.
  const key = input.replace(/^ +| +$/g, '').toLowerCase();
  if (key === 'all') return TARGETS.map((t) => t.id);
  const found = lookup.get(key);
  if (found) return TARGETS.map((t) => t.id).filter((id) => found.has(id));
  throw new ArchTableError(
    'UNKNOWN_ARCH',
    `Unknown architecture "${printable(input.slice(0, 64))}": use a QEMU target (${TARGETS.map((t) => t.id).join(', ')}) or an alias such as arm64, linux/arm/v7, arm64v8, armhf.`,
  );
}

/** Resolves several names; the result is deduplicated and in the table's order. */
export function resolveArchs(inputs: readonly string[]): TargetId[] {
  const wanted = new Set(inputs.flatMap(resolveArch));
  return TARGETS.map((t) => t.id as TargetId).filter((id) => wanted.has(id));
}

export function dockerPlatformOf(id: TargetId): string | undefined {
  const p = ALIASES[id].docker[0];
  return p ? formatPlatform(p) : undefined;
}

export function debianArchOf(id: TargetId): string | undefined {
  return ALIASES[id].debian[0];
}

export function officialImagePrefixOf(id: TargetId): string | undefined {
  return ALIASES[id].officialImage[0];
}

/** The target a Debian package architecture (the .deb's Architecture field) runs on. */
export function targetOfDebianArch(arch: string): TargetId | undefined {
  const hit = TARGETS.find((t) => (ALIASES[t.id as TargetId].debian as readonly string[]).includes(arch));
  return hit ? (hit.id as TargetId) : undefined;
}

export { isTargetId };
