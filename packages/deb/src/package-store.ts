import type { Readable } from 'node:stream';

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
 * Uploaded packages kept by their sha256: on a builder, those a control plane sent; on the control
 * plane, those admins uploaded. Builds name them by hash, so no caller ever gives a path.
 */
export interface PackageStore {
  /** The largest package `receive` accepts, in bytes. */
  readonly maxBytes: number;
  /** Where the package with this sha256 is (or would be) kept; refuses anything but a sha256. */
  pathOf(sha256: string): string;
  get(sha256: string): Promise<StoredPackage | undefined>;
  /** The stored package, or an error that says how to get it here. */
  require(sha256: string): Promise<StoredPackage>;
  /**
   * Reads `body` into the store, checking its size, that it is a .deb and, when the caller names
   * one, its sha256; else it is stored under the hash it has. A refused upload leaves nothing behind.
   */
  receive(body: Readable, expectedSha256?: string): Promise<StoredPackage & { created: boolean }>;
}
