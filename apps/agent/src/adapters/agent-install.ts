/**
 * Where this agent's own code is installed, as far as upgrading it in place goes: the tarball's
 * layout (`<prefix>/versions/<version>/`, `<prefix>/current` pointing at one of them, the launcher
 * `<prefix>/bin/binfleet-agent` going through `current`).
 */
export interface AgentInstall {
  /** Why this agent cannot replace its own code (the .deb, a container image, a checkout), or undefined. */
  problem(): Promise<string | undefined>;
  /** A folder for a download, on the same file system as the versions. */
  workDir(): Promise<string>;
  /**
   * Unpacks the tarball at `file` into `versions/<version>` and checks that its launcher runs and
   * says it is `version`. Nothing the running agent uses changes; a failure leaves no folder behind.
   */
  unpack(file: string, version: string): Promise<string>;
  /**
   * Points `current` at `versions/<version>` (one rename: a start sees the old or the new, never
   * neither) and keeps the version it pointed at before; older ones are deleted.
   */
  activate(version: string): Promise<{ readonly previous: string | undefined }>;
  /** The launcher that starts whatever `current` points at. */
  readonly launcher: string;
}
