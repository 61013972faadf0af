import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HostPlatform } from '@binfleet/arch-table';
import { tarStream, type TarEntry } from './tar-stream.ts';

export const MEDIA_TYPES = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** A blob in the build's blob directory, named by its digest. */
export interface BlobFile {
  readonly digest: string;
  readonly size: number;
  readonly path: string;
}

export interface LayerFile extends BlobFile {
  /** sha256 of the uncompressed tar: what the image config lists. */
  readonly diffId: string;
}

/** A manifest or index as the registry stores it: these exact bytes, under this digest. */
export interface ManifestDocument {
  readonly mediaType: string;
  readonly body: Buffer;
  readonly digest: string;
}

export type Annotations = Readonly<Record<string, string>>;

const sha256 = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function hashing(hash: ReturnType<typeof createHash>, count?: { bytes: number }) {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      if (count) count.bytes += chunk.length;
      done(null, chunk);
    },
  });
}

/**
 * The build's blobs on disk, content-addressed: layers written once as gzip'd tar (the same files
 * give the same bytes, so a rebuild uploads nothing new) and JSON documents.
 */
export class BlobDirectory {
  private serial = 0;

  constructor(readonly dir: string) {}

  /**
   * A layer of `entries`. gzip at its fastest level: emulators compress to a quarter either way, and
   * the strongest level only saves a tenth more for three times the CPU.
   */
  async writeLayer(entries: readonly TarEntry[], signal?: AbortSignal): Promise<LayerFile> {
    await mkdir(this.dir, { recursive: true });
    const partial = join(this.dir, `partial-${process.pid}-${this.serial++}`);
    const diff = createHash('sha256');
    const compressed = createHash('sha256');
    const count = { bytes: 0 };
    // zlib loaded by the first build, not by every agent that starts.
    const zlib = await import('node:zlib');
    await pipeline(
      tarStream(entries),
      hashing(diff),
      zlib.createGzip({ level: zlib.constants.Z_BEST_SPEED }),
      hashing(compressed, count),
      createWriteStream(partial),
      ...(signal ? [{ signal }] : []),
    );
    const digest = `sha256:${compressed.digest('hex')}`;
    const path = this.pathOf(digest);
    await rename(partial, path);
    return { digest, size: count.bytes, path, diffId: `sha256:${diff.digest('hex')}` };
  }

  async writeJson(value: unknown): Promise<BlobFile & { readonly body: Buffer }> {
    await mkdir(this.dir, { recursive: true });
    const body = Buffer.from(JSON.stringify(value));
    const digest = sha256(body);
    const path = this.pathOf(digest);
    await writeFile(path, body);
    return { digest, size: body.length, path, body };
  }

  pathOf(digest: string): string {
    return join(this.dir, digest.replace(':', '-'));
  }
}

export interface ImageConfigInput {
  readonly host: HostPlatform;
  readonly layers: readonly LayerFile[];
  readonly entrypoint?: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly created: string;
}

/** The OCI image config: platform (variant included), entrypoint, labels and the layers' diff ids. */
export function imageConfig(input: ImageConfigInput): unknown {
  return {
    created: input.created,
    architecture: input.host.platform.architecture,
    os: input.host.platform.os,
    ...(input.host.platform.variant ? { variant: input.host.platform.variant } : {}),
    config: {
      ...(input.entrypoint ? { Entrypoint: input.entrypoint } : {}),
      Labels: input.labels,
    },
    rootfs: { type: 'layers', diff_ids: input.layers.map((l) => l.diffId) },
  };
}

export function imageManifest(config: BlobFile, layers: readonly LayerFile[], annotations: Annotations) {
  return document(MEDIA_TYPES.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: MEDIA_TYPES.layer, digest: l.digest, size: l.size })),
    annotations,
  });
}

/** An index of manifests, each entry with its host's platform. */
export function imageIndex(
  entries: readonly { readonly host: HostPlatform; readonly manifest: ManifestDocument }[],
  annotations: Annotations,
) {
  return document(MEDIA_TYPES.index, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: entries.map(({ host, manifest }) => ({
      mediaType: manifest.mediaType,
      digest: manifest.digest,
      size: manifest.body.length,
      platform: { ...host.platform },
    })),
    annotations,
  });
}

function document(mediaType: string, value: unknown): ManifestDocument {
  const body = Buffer.from(JSON.stringify(value));
  return { mediaType, body, digest: sha256(body) };
}

/**
 * A docker-archive (what `docker load` reads) of images already assembled: their configs, their
 * layers as they are (dockerd unpacks gzip'd ones) and a manifest.json naming each image.
 */
export function dockerArchive(
  images: readonly {
    readonly image: { readonly config: BlobFile; readonly layers: readonly LayerFile[] };
    readonly names: readonly string[];
  }[],
): TarEntry[] {
  const name = (blob: BlobFile) => blob.digest.slice('sha256:'.length);
  const files = new Map<string, TarEntry>();
  for (const { image } of images) {
    files.set(`${name(image.config)}.json`, {
      type: 'file',
      name: `${name(image.config)}.json`,
      path: image.config.path,
      mode: 0o644,
    });
    for (const layer of image.layers) {
      files.set(`${name(layer)}/`, { type: 'dir', name: `${name(layer)}` });
      files.set(`${name(layer)}/layer.tar`, {
        type: 'file',
        name: `${name(layer)}/layer.tar`,
        path: layer.path,
        mode: 0o644,
      });
    }
  }
  const manifest = images.map(({ image, names }) => ({
    Config: `${name(image.config)}.json`,
    RepoTags: names,
    Layers: image.layers.map((l) => `${name(l)}/layer.tar`),
  }));
  return [...files.values(), { type: 'file', name: 'manifest.json', data: JSON.stringify(manifest) }];
}
