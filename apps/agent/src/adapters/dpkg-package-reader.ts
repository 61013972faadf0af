import { extractPackage, readQemuPackage } from '@binfleet/deb';
import type { PackageReader } from './package-reader.ts';

/** The real package reader: dpkg-deb on this host. */
export const dpkgPackageReader: PackageReader = { read: readQemuPackage, extract: extractPackage };
