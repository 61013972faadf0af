import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DEB_HEAD_BYTES, debHeadProblem } from './deb-archive.ts';
import { DebError } from './errors.ts';
import {
  DEFAULT_MAX_PACKAGE_BYTES,
  isSha256,
  type PackageStore,
  type StoredPackage,
} from './package-store.ts';

/**
 * Packages kept in `dir` by their sha256 (on a builder, under its state dir; on the control plane,
 * under its data dir). A file is written under a temporary name and renamed only once its hash
 * matches and it reads as a .deb: a wrong, cut or oversized upload leaves nothing behind.
 */
export class DiskPackageStore implements PackageStore {
  constructor(
    readonly dir: string,
    readonly maxBytes: number = DEFAULT_MAX_PACKAGE_BYTES,
  ) {}

  pathOf(sha256: string): string {
    if (!isSha256(sha256))
      throw new DebError('INVALID_INPUT', 'A package is named by its sha256: 64 lower-case hex digits.');
    return join(this.dir, `${sha256}.deb`);
  }

  async get(sha256: string): Promise<StoredPackage | undefined> {
    const path = this.pathOf(sha256);
    const facts = await stat(path).catch(() => undefined);
    return facts?.isFile() ? { sha256, size: facts.size, path } : undefined;
  }

  async require(sha256: string): Promise<StoredPackage> {
    const found = await this.get(sha256);
    if (!found) {
      throw new DebError(
        'INVALID_PACKAGE',
        `No package ${sha256} on this builder: upload it first (PUT /packages/${sha256}).`,
      );
    }
    return found;
  }

  async receive(body: Readable, expectedSha256?: string): Promise<StoredPackage & { created: boolean }> {
    if (expectedSha256 !== undefined) this.pathOf(expectedSha256);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const incoming = join(this.dir, `.incoming-${randomUUID()}`);
    const hash = createHash('sha256');
    let size = 0;
    let head = Buffer.alloc(0);
    const maxBytes = this.maxBytes;
    // Created here, before the pipeline: a write stream opening its file itself could create it after a
    // failed pipeline returned and the clean-up below ran, leaving it behind.
    const file = await open(incoming, 'wx', 0o600);
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            size += chunk.length;
            if (size > maxBytes) {
              throw new DebError(
                'TOO_LARGE',
                `The package is larger than the ${maxBytes} bytes accepted here.`,
              );
            }
            if (head.length < DEB_HEAD_BYTES) head = Buffer.concat([head, chunk.subarray(0, DEB_HEAD_BYTES)]);
            hash.update(chunk);
            yield chunk;
          }
        },
        file.createWriteStream(),
      );
      const sha256 = hash.digest('hex');
      if (expectedSha256 !== undefined && sha256 !== expectedSha256) {
        throw new DebError(
          'INVALID_PACKAGE',
          `The upload's sha256 is ${sha256}, not ${expectedSha256}: the file changed or was cut on the way; send it again.`,
        );
      }
      const problem = debHeadProblem(head);
      if (problem) {
        throw new DebError(
          'INVALID_PACKAGE',
          `The upload is no Debian package: ${problem}. Send a qemu-user-static .deb.`,
        );
      }
      const path = this.pathOf(sha256);
      const existed = (await this.get(sha256)) !== undefined;
      await rename(incoming, path);
      return { sha256, size, path, created: !existed };
    } finally {
      await file.close().catch(() => undefined);
      await rm(incoming, { force: true });
    }
  }
}
