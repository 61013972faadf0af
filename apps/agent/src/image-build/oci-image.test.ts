import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostPlatformOf } from '@binfleet/arch-table';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BlobDirectory,
  dockerArchive,
  imageConfig,
  imageIndex,
  imageManifest,
  MEDIA_TYPES,
} from './oci-image.ts';

describe('OCI image files', () => {
  let dir: string;
  let blobs: BlobDirectory;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oci-image-'));
    blobs = new BlobDirectory(join(dir, 'blobs'));
    await writeFile(join(dir, 'emulator'), 'not really an emulator');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes layers by digest, the same bytes for the same files, with the diff id of the tar', async () => {
    const entries = [
      { type: 'dir' as const, name: 'usr' },
      { type: 'file' as const, name: 'usr/qemu', path: join(dir, 'emulator'), mode: 0o755 },
    ];
    const layer = await blobs.writeLayer(entries);
    const again = await blobs.writeLayer(entries);
    expect(again).toEqual(layer);
    const bytes = await readFile(layer.path);
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(layer.digest);
    expect(bytes.length).toBe(layer.size);
    const tar = execFileSync('tar', ['-tzvf', layer.path], { encoding: 'utf8' });
    expect(tar).toMatch(/-rwxr-xr-x root\/root .* usr\/qemu/);
    const unzipped = execFileSync('gzip', ['-dc', layer.path]);
    expect(`sha256:${createHash('sha256').update(unzipped).digest('hex')}`).toBe(layer.diffId);
  });

  it('gives configs the host platform with its variant, and indexes one entry per platform', async () => {
    const layer = await blobs.writeLayer([{ type: 'dir', name: 'usr' }]);
    const armhf = hostPlatformOf('armhf');
    const config = await blobs.writeJson(
      imageConfig({ host: armhf, layers: [layer], labels: { a: 'b' }, created: '2026-01-01T00:00:00Z' }),
    );
    expect(JSON.parse(config.body.toString())).toMatchObject({
      architecture: 'arm',
      variant: 'v7',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    });
    const manifest = imageManifest(config, [layer], { note: 'x' });
    expect(JSON.parse(manifest.body.toString())).toMatchObject({
      mediaType: MEDIA_TYPES.manifest,
      config: { digest: config.digest, mediaType: MEDIA_TYPES.config },
      layers: [{ digest: layer.digest, mediaType: MEDIA_TYPES.layer }],
      annotations: { note: 'x' },
    });
    const index = imageIndex(
      [
        { host: hostPlatformOf('amd64'), manifest },
        { host: hostPlatformOf('arm64'), manifest },
      ],
      { note: 'y' },
    );
    expect(JSON.parse(index.body.toString()).manifests.map((m: { platform: unknown }) => m.platform)).toEqual(
      [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ],
    );
    expect(index.digest).toBe(`sha256:${createHash('sha256').update(index.body).digest('hex')}`);
    const archive = dockerArchive([{ image: { config, layers: [layer] }, names: ['r/q:t'] }]);
    const manifestJson = archive.find((e) => e.name === 'manifest.json') as { data: string };
    expect(JSON.parse(manifestJson.data)).toEqual([
      {
        Config: `${config.digest.slice(7)}.json`,
        RepoTags: ['r/q:t'],
        Layers: [`${layer.digest.slice(7)}/layer.tar`],
      },
    ]);
  });
});
