export interface QemuVersion {
  /** Upstream QEMU version, e.g. 7.2.19. */
  readonly version: string;
  /** The distribution's package, as QEMU prints it in parentheses, e.g. Debian 1:7.2+dfsg-7+deb12u18. */
  readonly package?: string;
}

/**
 * Reads the first line of `qemu-<target> --version`:
 *   qemu-aarch64 version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)
 * Returns undefined for anything else, so a wrapper script is not mistaken for QEMU.
 */
export function parseQemuVersion(output: string): QemuVersion | undefined {
  const match = /^qemu-\S+ version (\d\S*)(?: \(([^)]+)\))?/m.exec(output);
  if (!match) return undefined;
  return { version: match[1]!, ...(match[2] ? { package: match[2] } : {}) };
}
