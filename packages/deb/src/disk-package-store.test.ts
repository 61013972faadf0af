import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskPackageStore } from './disk-package-store.ts';

const member = (name: string, size: number) =>
  name.padEnd(16) +
  '0'.padEnd(12) +
  '0'.padEnd(6) +
  '0'.padEnd(6) +
  '100644'.padEnd(8) +
  String(size).padEnd(10) +
  '`\n';
const DEB = Buffer.from(
  `!<arch>\n${member('debian-binary', 4)}2.0\n${member('control.tar.xz', 0)}`,
  'latin1',
);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
/** The bytes in small chunks, as a network stream brings them. */
const stream = (data: Buffer) =>
  Readable.from([data.subarray(0, 10), data.subarray(10, 50), data.subarray(50)]);

describe('DiskPackageStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-packages-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const files = async () => (await readdir(dir).catch(() => [])).sort();

  it('keeps a package under its sha256, once', async () => {
    const store = new DiskPackageStore(dir);
    const hash = sha256(DEB);
    expect(await store.receive(stream(DEB), hash)).toMatchObject({ size: DEB.length, created: true });
    expect(await store.receive(stream(DEB), hash)).toMatchObject({ created: false });
    expect(await files()).toEqual([`${hash}.deb`]);
    expect(await readFile(store.pathOf(hash))).toEqual(DEB);
    expect(await store.get(hash)).toMatchObject({ size: DEB.length });
  });

  it('keeps nothing of an upload whose hash differs', async () => {
    const store = new DiskPackageStore(dir);
    await expect(store.receive(stream(DEB), '0'.repeat(64))).rejects.toMatchObject({
      code: 'INVALID_PACKAGE',
      message: expect.stringContaining(`sha256 is ${sha256(DEB)}`),
    });
    expect(await files()).toEqual([]);
  });

  it('keeps nothing of a file that is no .deb', async () => {
    const store = new DiskPackageStore(dir);
    const text = Buffer.from('#!/bin/sh\necho not a package\n'.repeat(4));
    await expect(store.receive(stream(text), sha256(text))).rejects.toMatchObject({
      code: 'INVALID_PACKAGE',
      message: expect.stringMatching(/no Debian package: it is not an ar archive/),
    });
    expect(await files()).toEqual([]);
  });

  it('stops reading past its limit and keeps nothing', async () => {
    const store = new DiskPackageStore(dir, 64);
    await expect(store.receive(stream(DEB))).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect(await files()).toEqual([]);
  });

  it('names an upload by its hash when the caller names none', async () => {
    const store = new DiskPackageStore(dir);
    expect(await store.receive(stream(DEB))).toMatchObject({ sha256: sha256(DEB), created: true });
    expect(await files()).toEqual([`${sha256(DEB)}.deb`]);
  });

  it('names packages by hash only', () => {
    const store = new DiskPackageStore(dir);
    for (const name of ['../../etc/passwd', 'A'.repeat(64), `${'a'.repeat(63)}/`])
      expect(() => store.pathOf(name)).toThrow(/64 lower-case hex digits/);
  });
});
