import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DEB_HEAD_BYTES, debHeadProblem } from '../build/deb-archive.ts';
import { AgentError } from '../errors.ts';

/** Default limit of one stored package: Debian's qemu-user-static is about 60 MB. */
export const DEFAULT_MAX_PACKAGE_BYTES = 512 * 1024 * 1024;

const SHA256 = /^[0-9a-f]{64}$/;

export const isSha256 = (value: string) => SHA256.test(value);

export interface StoredPackage {
  readonly sha256: string;
  readonly size: number;
  readonly path: string;
}

/**
 * Uploaded packages kept in `dir` by their sha256: on a builder, those a control plane sent (under
 * the state dir); on the control plane, those admins uploaded. Builds name them by hash, so no
 * caller ever gives a path. A file is written under a
 * temporary name and renamed only once its hash matches and it reads as a .deb: a wrong, cut or
 * oversized upload leaves nothing behind.
 */
export class PackageStore {
  constructor(
    readonly dir: string,
    readonly maxBytes: number = DEFAULT_MAX_PACKAGE_BYTES,
  ) {}

  pathOf(sha256: string): string {
    if (!isSha256(sha256))
      throw new AgentError('INVALID_INPUT', 'A package is named by its sha256: 64 lower-case hex digits.');
    return join(this.dir, `${sha256}.deb`);
  }

  async get(sha256: string): Promise<StoredPackage | undefined> {
    const path = this.pathOf(sha256);
    const facts = await stat(path).catch(() => undefined);
    return facts?.isFile() ? { sha256, size: facts.size, path } : undefined;
  }

  /** The stored package, or an error that says how to get it here. */
  async require(sha256: string): Promise<StoredPackage> {
    const found = await this.get(sha256);
    if (!found) {
      throw new AgentError(
        'INVALID_PACKAGE',
        `No package ${sha256} on this builder: upload it first (PUT /packages/${sha256}).`,
      );
    }
    return found;
  }

  /**
   * Reads `body` into the store, checking its size, that it is a .deb and, when the caller names
   * one, its sha256; else it is stored under the hash it has.
   */
  async receive(body: Readable, expectedSha256?: string): Promise<StoredPackage & { created: boolean }> {
    if (expectedSha256 !== undefined) this.pathOf(expectedSha256);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const incoming = join(this.dir, `.incoming-${randomUUID()}`);
    const hash = createHash('sha256');
    let size = 0;
    let head = Buffer.alloc(0);
    const maxBytes = this.maxBytes;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            size += chunk.length;
            if (size > maxBytes) {
              throw new AgentError(
                'TOO_LARGE',
                `The package is larger than the ${maxBytes} bytes accepted here.`,
              );
            }
            if (head.length < DEB_HEAD_BYTES) head = Buffer.concat([head, chunk.subarray(0, DEB_HEAD_BYTES)]);
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(incoming, { flags: 'wx', mode: 0o600 }),
      );
      const sha256 = hash.digest('hex');
      if (expectedSha256 !== undefined && sha256 !== expectedSha256) {
        throw new AgentError(
          'INVALID_PACKAGE',
          `The upload's sha256 is ${sha256}, not ${expectedSha256}: the file changed or was cut on the way; send it again.`,
        );
      }
      const problem = debHeadProblem(head);
      if (problem) {
        throw new AgentError(
          'INVALID_PACKAGE',
          `The upload is no Debian package: ${problem}. Send a qemu-user-static .deb.`,
        );
      }
      const path = this.pathOf(sha256);
      const existed = (await this.get(sha256)) !== undefined;
      await rename(incoming, path);
      return { sha256, size, path, created: !existed };
    } finally {
      await rm(incoming, { force: true });
    }
  }
}
