import { join } from 'node:path';
import {
  PROVENANCE_LABELS,
  REGISTER_SCRIPT_PATH,
  type HostImage,
  type PlannedTag,
  type TargetId,
} from '@binfleet/arch-table';
import { eachWithConcurrency } from '@binfleet/concurrency';
import type { BuildPlan, HostBuild } from './build-plan.ts';
import {
  imageConfig,
  imageIndex,
  imageManifest,
  type Annotations,
  type BlobDirectory,
  type BlobFile,
  type LayerFile,
  type ManifestDocument,
} from './oci-image.ts';
import { registerRoot } from './register-context.ts';

/** One image as files: its config and layers in the blob directory, and its manifest. */
export interface AssembledImage {
  readonly config: BlobFile;
  readonly layers: readonly LayerFile[];
  readonly manifest: ManifestDocument;
}

/** A host's images: register, full (register plus every emulator) and one per emulator target. */
export interface AssembledHost {
  readonly build: HostBuild;
  readonly register: AssembledImage;
  readonly full: AssembledImage;
  readonly emulators: ReadonlyMap<TargetId, AssembledImage>;
}

/** What a tag points at once assembled: one image's manifest, or an index of several. */
export interface AssembledTag {
  readonly plan: PlannedTag;
  readonly document: ManifestDocument;
}

export interface HostFacts {
  readonly buildId: string;
  readonly version: string;
  readonly created: string;
}

/** The provenance every config carries as labels and every manifest as annotations. */
export function provenanceOf(build: HostBuild, facts: HostFacts): Record<string, string> {
  return {
    [PROVENANCE_LABELS.buildId]: facts.buildId,
    [PROVENANCE_LABELS.version]: facts.version,
    [PROVENANCE_LABELS.packageName]: build.pkg.name,
    [PROVENANCE_LABELS.packageVersion]: build.pkg.version,
    [PROVENANCE_LABELS.packageArch]: build.pkg.architecture,
    [PROVENANCE_LABELS.packageSha256]: build.pkg.sha256,
    [PROVENANCE_LABELS.qemuVersion]: build.qemuVersion,
  };
}

const OCI_ANNOTATIONS = {
  version: 'org.opencontainers.image.version',
  created: 'org.opencontainers.image.created',
} as const;

/**
 * Builds one host's images as files, without dockerd: every emulator becomes one layer, which its
 * emulator image has alone and the full image has on top of the register layer, so each emulator's
 * bytes are compressed and uploaded once.
 */
export async function assembleHost(
  blobs: BlobDirectory,
  build: HostBuild,
  registerLayer: LayerFile,
  facts: HostFacts,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<AssembledHost> {
  const labels = provenanceOf(build, facts);
  const annotations: Annotations = {
    ...labels,
    [OCI_ANNOTATIONS.version]: facts.version,
    [OCI_ANNOTATIONS.created]: facts.created,
  };
  const image = async (layers: readonly LayerFile[], entrypoint?: readonly string[]) => {
    const config = await blobs.writeJson(
      imageConfig({
        host: build.host,
        layers,
        labels,
        created: facts.created,
        ...(entrypoint ? { entrypoint } : {}),
      }),
    );
    return { config, layers, manifest: imageManifest(config, layers, annotations) };
  };
  const layers = new Map<string, LayerFile>();
  await eachWithConcurrency(build.pkg.emulators, 2, async (file) => {
    signal.throwIfAborted();
    layers.set(
      file,
      await blobs.writeLayer(
        [
          { type: 'dir', name: 'usr' },
          { type: 'dir', name: 'usr/bin' },
          { type: 'file', name: `usr/bin/${file}`, path: join(build.root, 'usr/bin', file), mode: 0o755 },
        ],
        signal,
      ),
    );
  });
  const entrypoint = [REGISTER_SCRIPT_PATH];
  const register = await image([registerLayer], entrypoint);
  const full = await image(
    [registerLayer, ...build.pkg.emulators.map((file) => layers.get(file)!)],
    entrypoint,
  );
  const emulators = new Map<TargetId, AssembledImage>();
  for (const target of build.targets) {
    emulators.set(target, await image([layers.get(`qemu-${target}-static`)!]));
  }
  const bytes = [registerLayer, ...layers.values()].reduce((sum, l) => sum + l.size, 0);
  log(
    `${build.host.debian}: register, full and ${emulators.size} emulator images from ${layers.size + 1} layers (${Math.round(bytes / 1e6)} MB compressed)`,
  );
  return { build, register, full, emulators };
}

/** The register image's one layer: busybox and the entrypoint. */
export function writeRegisterLayer(
  blobs: BlobDirectory,
  build: HostBuild,
  signal: AbortSignal,
): Promise<LayerFile> {
  return blobs.writeLayer(registerRoot(build.busybox), signal);
}

/** The image a tag's plan names on its host. */
export function imageOf(hosts: readonly AssembledHost[], ref: HostImage): AssembledImage {
  const host = hosts.find((h) => h.build.host.debian === ref.host)!;
  return ref.image === 'emulator' ? host.emulators.get(ref.target)! : host[ref.image];
}

/**
 * Every tag's document: the image's own manifest for a single-platform tag, an OCI index with one
 * entry per host platform otherwise, annotated with what the hosts share and each package's sha256.
 */
export function assembleTags(
  plan: BuildPlan,
  hosts: readonly AssembledHost[],
  facts: HostFacts,
): AssembledTag[] {
  return plan.tags.map((tag) => {
    if (tag.form === 'single') return { plan: tag, document: imageOf(hosts, tag.images[0]!).manifest };
    const builds = tag.images.map((ref) => hosts.find((h) => h.build.host.debian === ref.host)!.build);
    const joined = (of: (b: HostBuild) => string) => [...new Set(builds.map(of))].join(',');
    const annotations: Annotations = {
      [PROVENANCE_LABELS.buildId]: facts.buildId,
      [PROVENANCE_LABELS.version]: facts.version,
      [PROVENANCE_LABELS.qemuVersion]: joined((b) => b.qemuVersion),
      [PROVENANCE_LABELS.packageName]: joined((b) => b.pkg.name),
      [PROVENANCE_LABELS.packageVersion]: joined((b) => b.pkg.version),
      [PROVENANCE_LABELS.packageArch]: joined((b) => b.pkg.architecture),
      [PROVENANCE_LABELS.packageSha256]: joined((b) => `${b.pkg.architecture}:${b.pkg.sha256}`),
      [OCI_ANNOTATIONS.version]: facts.version,
      [OCI_ANNOTATIONS.created]: facts.created,
    };
    const entries = tag.images.map((ref) => ({
      host: hosts.find((h) => h.build.host.debian === ref.host)!.build.host,
      manifest: imageOf(hosts, ref).manifest,
    }));
    return { plan: tag, document: imageIndex(entries, annotations) };
  });
}
