import {
  ALIASES,
  debianArchOf,
  dockerPlatformOf,
  isNativeFor,
  makeTagSet,
  type ImageTag,
  type TargetId,
} from '@binfleet/arch-table';
import { emulatorPath } from '@binfleet/deb';
import { AgentError } from '../errors.ts';

/** One image a build makes, under every tag the scheme gives it (the first is the one it is built as). */
export interface PlannedImage {
  readonly kind: 'register' | 'full' | 'emulator';
  /** For emulator images: the target whose emulator it holds. */
  readonly target?: TargetId;
  readonly tags: readonly string[];
}

export interface ImagePlan {
  readonly version: string;
  /** The Docker platform every image is for: the package's host (`$from`). */
  readonly platform: string;
  /** FROM scratch: busybox, the entrypoint, no emulators (`register`). */
  readonly register: PlannedImage;
  /** The register image plus every emulator (`$version`, `latest`). */
  readonly full: PlannedImage;
  /** FROM scratch with one emulator (`$from-$to-$version`, `$from-$to`, `$to-$version`, `$to`). */
  readonly emulators: readonly PlannedImage[];
}

/** Groups the arch table's tag set by the image each tag names. */
export function planImages(input: {
  readonly version: string;
  readonly fromArch: TargetId;
  readonly targets: readonly TargetId[];
}): ImagePlan {
  const platform = dockerPlatformOf(input.fromArch);
  if (!platform) {
    throw new AgentError(
      'INVALID_PACKAGE',
      `Docker has no platform for ${input.fromArch}, so it cannot run images of this package.`,
    );
  }
  const debianArch = debianArchOf(input.fromArch)!;
  const tags = makeTagSet({ version: input.version, hosts: [{ debianArch, targets: input.targets }] });
  const named = (test: (t: ImageTag) => boolean) => tags.filter(test).map((t) => t.tag);
  const register: PlannedImage = { kind: 'register', tags: named((t) => t.kind === 'register') };
  const full: PlannedImage = {
    kind: 'full',
    tags: named((t) => t.kind === 'version' || t.kind === 'latest'),
  };
  const byTarget = new Map<TargetId, ImageTag[]>();
  for (const t of tags) {
    if (
      t.kind === 'pair' ||
      t.kind === 'pair-version' ||
      t.kind === 'target' ||
      t.kind === 'target-version'
    ) {
      byTarget.set(t.to, [...(byTarget.get(t.to) ?? []), t]);
    }
  }
  // Built as $from-$to-$version, the most specific name; the others name the same image.
  const emulators = [...byTarget].map(([target, list]) => {
    const primary = list.find((t) => t.kind === 'pair-version')!;
    return {
      kind: 'emulator' as const,
      target,
      tags: [primary.tag, ...list.filter((t) => t !== primary).map((t) => t.tag)],
    };
  });
  return { version: input.version, platform, register, full, emulators };
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

export const registerDockerfile = (entrypoint: string) =>
  `FROM scratch\nCOPY rootfs/ /\nENTRYPOINT ["${entrypoint}"]\n`;

export const fullDockerfile = (registerImage: string) => `FROM ${registerImage}\nCOPY usr/ /usr/\n`;

export const emulatorDockerfile = (target: TargetId) =>
  `FROM scratch\nCOPY qemu-${target}-static ${emulatorPath(target)}\n`;

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
