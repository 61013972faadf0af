export { DebError, type DebErrorCode } from './errors.ts';
export {
  emulatorPath,
  extractPackage,
  readQemuPackage,
  rememberingQemuPackageReader,
  type QemuPackage,
} from './qemu-package.ts';
export {
  DEFAULT_MAX_PACKAGE_BYTES,
  isSha256,
  type PackageStore,
  type StoredPackage,
} from './package-store.ts';
export { DiskPackageStore } from './disk-package-store.ts';
