import type { QemuPackage } from '@binfleet/deb';

/** Reads and unpacks QEMU packages for builds. */
export interface PackageReader {
  read(path: string): Promise<QemuPackage>;
  /** Unpacks the package's files under `dir`. */
  extract(path: string, dir: string): Promise<void>;
}
