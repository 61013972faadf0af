import { extractPackage, rememberingQemuPackageReader } from '@binfleet/deb';
import type { PackageReader } from './package-reader.ts';

/**
 * The real package reader: dpkg-deb on this host. One per process: it remembers what the packages it
 * read list, by sha256, so the next build of the same package skips that listing.
 */
export const dpkgPackageReader: PackageReader = {
  read: rememberingQemuPackageReader(),
  extract: extractPackage,
};
