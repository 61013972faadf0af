import {
  ALIASES,
  dockerPlatformOf,
  hostPlatformOf,
  isNativeFor,
  planTags,
  type HostPlatform,
  type PlannedTag,
  type TargetId,
} from '@binfleet/arch-table';
import { emulatorPath, type QemuPackage } from '@binfleet/deb';
import { AgentError } from '../errors.ts';

/** One host architecture of a build: its package, its busybox and the emulators it gets images of. */
export interface HostBuild {
  readonly host: HostPlatform;
  readonly pkg: QemuPackage;
  /** Static busybox of this architecture for the register image. */
  readonly busybox: string;
  /** The package's targets the build makes emulator images of. */
  readonly targets: readonly TargetId[];
  /** Where the package is unpacked. */
  readonly root: string;
  /** From the emulators themselves where this builder runs them, else the package's upstream version. */
  readonly qemuVersion: string;
}

export interface BuildPlan {
  readonly version: string;
  /** In the arch table's host order. */
  readonly hosts: readonly HostBuild[];
  /** Every tag, in the scheme's order, with the images it names. */
  readonly tags: readonly PlannedTag[];
}

/**
 * Refuses package sets the tag scheme cannot hold, naming the files: two packages for one host, or
 * armel beside armhf (both the QEMU host arm).
 */
export function refuseTwins(
  hosts: readonly { readonly host: HostPlatform; readonly pkg: QemuPackage }[],
): void {
  for (const [i, h] of hosts.entries()) {
    const twin = hosts.slice(0, i).find((o) => o.host.cpu === h.host.cpu);
    if (!twin) continue;
    throw new AgentError(
      'INVALID_INPUT',
      twin.host.debian === h.host.debian
        ? `${twin.pkg.path} and ${h.pkg.path} are both for ${h.host.debian}: give one package per host architecture.`
        : `${twin.pkg.path} (${twin.host.debian}) and ${h.pkg.path} (${h.host.debian}) are both the QEMU host ${h.host.cpu}, ` +
            `whose pair tags (${h.host.cpu}-$to) would collide: build them into separate repositories.`,
    );
  }
}

/** Plans every tag from the arch table, with the hosts in its order. */
export function planBuild(version: string, hosts: readonly HostBuild[]): BuildPlan {
  refuseTwins(hosts);
  const tags = planTags({
    version,
    hosts: hosts.map((h) => ({ debianArch: h.host.debian, targets: h.targets })),
  });
  const order = tags[0]!.images.map((i) => i.host);
  return {
    version,
    hosts: order.map((debian) => hosts.find((h) => h.host.debian === debian)!),
    tags,
  };
}

/** The host a package is for, by its Architecture field. */
export function hostOfPackage(pkg: QemuPackage): HostPlatform {
  try {
    return hostPlatformOf(pkg.architecture);
  } catch (error) {
    throw new AgentError('INVALID_PACKAGE', `${pkg.path}: ${(error as Error).message}`);
  }
}

/**
 * The foreign target the seed's checks use: aarch64 (the seed's own choice) unless the package is for
 * it, else the first target with a Docker platform that the host does not run natively.
 */
export function pickCheckTarget(fromArch: TargetId, targets: readonly TargetId[]): TargetId | undefined {
  const usable = targets.filter(
    (t) => dockerPlatformOf(t) !== undefined && !isNativeFor(fromArch, t) && ALIASES[t].uname.length > 0,
  );
  return usable.includes('aarch64') ? 'aarch64' : usable[0];
}

/**
 * The seed's integration image: a foreign image with the emulator copied in, which runs with entries
 * registered without F (the kernel then opens the interpreter inside the container).
 */
export const integrationDockerfile = (input: {
  readonly emulatorImage: string;
  readonly emulatorPlatform: string;
  readonly foreignImage: string;
  readonly target: TargetId;
}) =>
  `FROM --platform=${input.emulatorPlatform} ${input.emulatorImage} AS qemu\n` +
  `FROM ${input.foreignImage}\n` +
  `COPY --from=qemu ${emulatorPath(input.target)} ${emulatorPath(input.target)}\n`;
