import { ArchTableError } from './errors.ts';
import { targetsForHost } from './host-family.ts';
import { HOST_PLATFORMS, hostPlatformOf } from './host-platforms.ts';
import { isTargetId, TARGETS, type TargetId } from './targets.ts';

/**
 * The seed image's tag scheme (multiarch/qemu-user-static), on every host architecture:
 *   $version, latest      register image with every emulator      index: one entry per host platform
 *   register              register image without emulators         index: one entry per host platform
 *   $to, $to-$version     one emulator for target $to               index: one entry per host that emulates $to
 *   $from-$to, $from-$to-$version   host $from's emulator for $to   single platform
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

/** One host's share of a build: its Debian architecture and the emulators its package carries. */
export interface HostTagInput {
  readonly debianArch: string;
  readonly targets: readonly TargetId[];
}

/** One image of a build: a host's full image, its register image, or one of its emulator images. */
export type HostImage =
  | { readonly host: string; readonly image: 'full' | 'register' }
  | { readonly host: string; readonly image: 'emulator'; readonly target: TargetId };

/**
 * A tag and what it names: an OCI image index with one entry per image (each image's platform is its
 * host's), or the manifest of a single image.
 */
export interface PlannedTag {
  readonly tag: ImageTag;
  readonly form: 'index' | 'single';
  readonly images: readonly HostImage[];
}

/**
 * Every tag one build produces from one package per host architecture, in the order the seed
 * publishes them: `$version`, `latest`, `register`, then per target (the table's order) each host's
 * `$from-$to` pair and the `$to` index. A host never gets an entry in the `$to` index of its own
 * family (amd64 none in `i386` or `x86_64`, arm64 none in `arm`): it runs those natively.
 */
export function planTags(input: {
  readonly version: string;
  readonly hosts: readonly HostTagInput[];
}): PlannedTag[] {
  const version = validateTagVersion(input.version);
  const hosts = orderedHosts(input.hosts);
  const every = (image: 'full' | 'register') => hosts.map((h) => ({ host: h.debian, image }));
  const plan: PlannedTag[] = [
    { tag: { kind: 'version', tag: version, version }, form: 'index', images: every('full') },
    { tag: { kind: 'latest', tag: 'latest' }, form: 'index', images: every('full') },
    { tag: { kind: 'register', tag: 'register' }, form: 'index', images: every('register') },
  ];
  for (const { id: to } of TARGETS) {
    const carrying = hosts.filter((h) => h.targets.includes(to));
    for (const h of carrying) {
      const from = h.cpu;
      const images = [{ host: h.debian, image: 'emulator' as const, target: to }];
      plan.push({ tag: { kind: 'pair', tag: `${from}-${to}`, from, to }, form: 'single', images });
      plan.push({
        tag: { kind: 'pair-version', tag: `${from}-${to}-${version}`, from, to, version },
        form: 'single',
        images,
      });
    }
    const emulating = carrying.filter((h) => targetsForHost(h.cpu).includes(to));
    if (emulating.length === 0) continue;
    const images = emulating.map((h) => ({ host: h.debian, image: 'emulator' as const, target: to }));
    plan.push({ tag: { kind: 'target', tag: to, to }, form: 'index', images });
    plan.push({
      tag: { kind: 'target-version', tag: `${to}-${version}`, to, version },
      form: 'index',
      images,
    });
  }
  return plan;
}

/** Every tag of planTags, as a flat list (what a build pushes and the catalogue expects). */
export function makeTagSet(input: {
  readonly version: string;
  readonly hosts: readonly HostTagInput[];
}): ImageTag[] {
  return planTags(input).map((p) => p.tag);
}

/**
 * The hosts in the table's order, refusing two packages for one host: one Debian architecture twice,
 * or two that are one QEMU host (armel and armhf both name their pair tags `arm-$to`).
 */
function orderedHosts(inputs: readonly HostTagInput[]) {
  if (inputs.length === 0) {
    throw new ArchTableError(
      'INVALID_HOST_SET',
      'A build needs a package for at least one host architecture.',
    );
  }
  const hosts = inputs.map((input) => ({ ...hostPlatformOf(input.debianArch), targets: input.targets }));
  for (const [i, h] of hosts.entries()) {
    const twin = hosts.slice(0, i).find((o) => o.cpu === h.cpu);
    if (!twin) continue;
    throw new ArchTableError(
      'INVALID_HOST_SET',
      twin.debian === h.debian
        ? `Two packages are for ${h.debian}: give one package per host architecture.`
        : `${twin.debian} and ${h.debian} are both the QEMU host ${h.cpu}, so their pair tags (${h.cpu}-$to) would collide: build them into separate repositories.`,
    );
  }
  return HOST_PLATFORMS.flatMap((p) => hosts.filter((h) => h.debian === p.debian));
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
