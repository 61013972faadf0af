import { ArchTableError } from './errors.ts';
import type { DockerPlatform } from './aliases.ts';
import type { TargetId } from './targets.ts';

/**
 * A host architecture images are built for: a Debian architecture that ships qemu-user-static, the
 * QEMU target it is (the `$from` of pair tags) and the OCI platform its images carry.
 */
export interface HostPlatform {
  /** dpkg --print-architecture, the .deb's Architecture field. */
  readonly debian: string;
  readonly cpu: TargetId;
  /** With its variant where OCI has one: arm64 is linux/arm64/v8 in indexes, as Docker Hub's are. */
  readonly platform: DockerPlatform & { readonly os: 'linux' };
}

const host = (debian: string, cpu: TargetId, architecture: string, variant?: string): HostPlatform => ({
  debian,
  cpu,
  platform: variant ? { os: 'linux', architecture, variant } : { os: 'linux', architecture },
});

/** Every Debian architecture that ships qemu-user-static (Debian 12, and riscv64 from Debian 13). */
export const HOST_PLATFORMS: readonly HostPlatform[] = [
  host('amd64', 'x86_64', 'amd64'),
  host('arm64', 'aarch64', 'arm64', 'v8'),
  host('armhf', 'arm', 'arm', 'v7'),
  host('armel', 'arm', 'arm', 'v5'),
  host('i386', 'i386', '386'),
  host('ppc64el', 'ppc64le', 'ppc64le'),
  host('s390x', 's390x', 's390x'),
  host('riscv64', 'riscv64', 'riscv64'),
  host('mips64el', 'mips64el', 'mips64le'),
  host('mipsel', 'mipsel', 'mipsle'),
];

export const HOST_DEBIAN_ARCHES = HOST_PLATFORMS.map((h) => h.debian);

/** The host platform of a Debian architecture; throws UNKNOWN_HOST_ARCH for one without images. */
export function hostPlatformOf(debianArch: string): HostPlatform {
  const found = HOST_PLATFORMS.find((h) => h.debian === debianArch);
  if (!found) {
    throw new ArchTableError(
      'UNKNOWN_HOST_ARCH',
      `"${debianArch.slice(0, 32)}" is no Debian architecture binfleet builds images for: use one of ${HOST_DEBIAN_ARCHES.join(', ')}.`,
    );
  }
  return found;
}

/** `linux/arm/v7`, `linux/amd64`: os, architecture and variant joined by '/'. */
export function platformString(p: DockerPlatform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/**
 * The variant a platform without one means, as containerd normalises it: arm64 is v8, arm is v7.
 * Registries and clients write arm64 both with and without `v8`; both name one platform.
 */
function normalVariant(architecture: string, variant: string | undefined): string | undefined {
  if (variant) return variant;
  if (architecture === 'arm64') return 'v8';
  if (architecture === 'arm') return 'v7';
  return undefined;
}

/**
 * The host a platform (an index entry's, an image config's, or `linux/arm64` as typed) names, or
 * undefined for one binfleet builds no images for.
 */
export function hostPlatformOfPlatform(p: {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
}): HostPlatform | undefined {
  if (p.os !== 'linux') return undefined;
  const variant = normalVariant(p.architecture, p.variant);
  return HOST_PLATFORMS.find(
    (h) =>
      h.platform.architecture === p.architecture &&
      normalVariant(h.platform.architecture, h.platform.variant) === variant,
  );
}

/** Reads `linux/arm64`, `linux/arm/v7` into its parts. */
export function parsePlatform(text: string): DockerPlatform {
  const [os, architecture, variant, ...rest] = text.split('/');
  if (os !== 'linux' || !architecture || rest.length > 0) {
    throw new ArchTableError(
      'UNKNOWN_ARCH',
      `"${text.slice(0, 64)}" is not a platform: write os/architecture[/variant], e.g. linux/arm64 or linux/arm/v7.`,
    );
  }
  return variant ? { os, architecture, variant } : { os, architecture };
}
