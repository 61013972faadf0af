import { ArchTableError } from './errors.ts';
import { hostArchOf } from './host-family.ts';
import { isTargetId, TARGETS, type TargetId } from './targets.ts';

/**
 * The seed image's tag scheme (multiarch/qemu-user-static):
 *   $version, latest      register image with every emulator
 *   register              register image without emulators
 *   $from-$to, $from-$to-$version   one emulator for host $from
 *   $to, $to-$version     the same, only for the default host architecture
 */
export type ImageTag =
  | { readonly kind: 'version'; readonly tag: string; readonly version: string }
  | { readonly kind: 'latest'; readonly tag: 'latest' }
  | { readonly kind: 'register'; readonly tag: 'register' }
  | { readonly kind: 'pair'; readonly tag: string; readonly from: TargetId; readonly to: TargetId }
  | {
      readonly kind: 'pair-version';
      readonly tag: string;
      readonly from: TargetId;
      readonly to: TargetId;
      readonly version: string;
    }
  | { readonly kind: 'target'; readonly tag: string; readonly to: TargetId }
  | {
      readonly kind: 'target-version';
      readonly tag: string;
      readonly to: TargetId;
      readonly version: string;
    };

export const DEFAULT_HOST_ARCH: TargetId = 'x86_64';

const VERSION = /^[0-9][A-Za-z0-9_.]*(-[A-Za-z0-9_.]+)*$/;
const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * A Debian package version as a tag version: epoch dropped, characters a tag cannot hold turned
 * into '.', e.g. `1:7.2+dfsg-7+deb12u18` -> `7.2.dfsg-7.deb12u18`.
 */
export function tagVersionOf(packageVersion: string): string {
  const version = packageVersion.replace(/^\d+:/, '').replace(/[^A-Za-z0-9_.-]/g, '.');
  return validateTagVersion(version);
}

/** A tag in the OCI distribution grammar (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`), as a registry may send one. */
export function isOciTag(tag: string): boolean {
  return DOCKER_TAG.test(tag);
}

const PLATFORM_PART = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/** An image platform as `os/architecture[/variant]` (`linux/arm/v7`), each part lower-case letters, digits, `._-`. */
export function isOciPlatform(platform: string): boolean {
  const parts = platform.split('/');
  return parts.length >= 2 && parts.length <= 3 && parts.every((p) => PLATFORM_PART.test(p));
}

export function validateTagVersion(version: string): string {
  if (!VERSION.test(version) || version.length > 64) {
    throw new ArchTableError(
      'INVALID_TAG',
      `Version "${version.slice(0, 64)}" cannot be a tag: start with a digit and use letters, digits, '.', '_', '-' (e.g. 7.2.0-1).`,
    );
  }
  return version;
}

export interface TagSetInput {
  readonly version: string;
  /** The package's host architecture, in any form hostArchOf accepts (x86_64, amd64, arm64...). */
  readonly fromArch: string;
  /** The emulators the package carries. */
  readonly targets: readonly TargetId[];
  readonly defaultHostArch?: TargetId;
}

/** Every tag one build of a QEMU package produces, in the order the seed publishes them. */
export function makeTagSet(input: TagSetInput): ImageTag[] {
  const version = validateTagVersion(input.version);
  const from = hostArchOf(input.fromArch).cpu;
  const isDefaultHost = from === (input.defaultHostArch ?? DEFAULT_HOST_ARCH);
  const order = TARGETS.map((t) => t.id as TargetId).filter((id) => input.targets.includes(id));
  const tags: ImageTag[] = [
    { kind: 'version', tag: version, version },
    { kind: 'latest', tag: 'latest' },
    { kind: 'register', tag: 'register' },
  ];
  for (const to of order) {
    tags.push({ kind: 'pair', tag: `${from}-${to}`, from, to });
    tags.push({ kind: 'pair-version', tag: `${from}-${to}-${version}`, from, to, version });
    if (isDefaultHost) {
      tags.push({ kind: 'target', tag: to, to });
      tags.push({ kind: 'target-version', tag: `${to}-${version}`, to, version });
    }
  }
  return tags;
}

/** Reads a tag back into its parts; throws INVALID_TAG for a tag outside the scheme. */
export function parseTag(tag: string): ImageTag {
  if (!DOCKER_TAG.test(tag)) {
    throw new ArchTableError('INVALID_TAG', `"${tag.slice(0, 64)}" is not a valid Docker tag.`);
  }
  if (tag === 'latest') return { kind: 'latest', tag };
  if (tag === 'register') return { kind: 'register', tag };
  if (VERSION.test(tag)) return { kind: 'version', tag, version: tag };
  // Target ids never contain '-', so the tag splits on '-' into arch, arch and version parts.
  const parts = tag.split('-');
  const [first, second] = parts;
  if (first && isTargetId(first)) {
    if (second !== undefined && isTargetId(second)) {
      const version = parts.slice(2).join('-');
      if (version === '') return { kind: 'pair', tag, from: first, to: second };
      if (VERSION.test(version)) return { kind: 'pair-version', tag, from: first, to: second, version };
    } else {
      const version = parts.slice(1).join('-');
      if (version === '') return { kind: 'target', tag, to: first };
      if (VERSION.test(version)) return { kind: 'target-version', tag, to: first, version };
    }
  }
  throw new ArchTableError(
    'INVALID_TAG',
    `Tag "${tag}" is outside the scheme: expected VERSION, latest, register, FROM-TO, FROM-TO-VERSION, TO or TO-VERSION.`,
  );
}

/**
 * Labels a binfleet build puts on every image it makes, so that the catalogue can tell where a tag
 * came from by reading the image's config from the registry, whoever pushed it.
 */
export const PROVENANCE_LABELS = {
  buildId: 'io.binfleet.build.id',
  /** The tag version (`$version`): also on images whose own tags carry none (register, latest). */
  version: 'io.binfleet.version',
  packageName: 'io.binfleet.package.name',
  packageVersion: 'io.binfleet.package.version',
  packageArch: 'io.binfleet.package.architecture',
  packageSha256: 'io.binfleet.package.sha256',
  qemuVersion: 'io.binfleet.qemu.version',
} as const;
