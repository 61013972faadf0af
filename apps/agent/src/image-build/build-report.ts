import type { BuildStatus } from '@binfleet/agent-contract';
import type { TargetId } from '@binfleet/arch-table';
import type { QemuPackage } from '@binfleet/deb';
import type { RegistryAuth } from '../adapters/registry-client.ts';

export type { BuildStatus };

/** The steps of every build, in order; `clean up` runs whatever happened before it. */
export const BUILD_STEPS = [
  'read package',
  'extract',
  'build register images',
  'build emulator images',
  'test',
  'push',
  'clean up',
] as const;
export type BuildStepName = (typeof BUILD_STEPS)[number];

/** A package of a build: its path on this host, or a package uploaded to this builder, by sha256. */
export interface BuildPackageRef {
  readonly path?: string;
  readonly sha256?: string;
}

export interface BuildRequest {
  /** The QEMU package on this host, e.g. Debian's qemu-user-static_*.deb. */
  readonly packagePath?: string;
  /** Or a package a control plane uploaded to this builder's package store, by its sha256. */
  readonly packageSha256?: string;
  /** Or several packages, one per host architecture, each by path or by sha256: one multi-platform build. */
  readonly packages?: readonly BuildPackageRef[];
  /** Registry host[:port], e.g. 127.0.0.1:5000 or registry.example.com. */
  readonly registry: string;
  /** Repository in that registry, e.g. multiarch/qemu-user-static. */
  readonly repository: string;
  readonly auth?: RegistryAuth;
  /** Default: every emulator target in the package. */
  readonly targets?: readonly TargetId[];
  /** Static busybox of the package's architecture for the register image (default: the agent's). */
  readonly busybox?: string;
  /**
   * Static busybox binaries or busybox-static packages, each matched to the host of its architecture
   * (a host without one gets the agent's own busybox when it is of that architecture).
   */
  readonly busyboxes?: readonly string[];
  /** Plain HTTP to the registry (loopback registries always are). */
  readonly insecure?: boolean;
  /** The tag version (`$version`) instead of the one of the packages' Debian version. */
  readonly version?: string;
  /** Foreign image for the container checks (default: the agent's verify image for the check target). */
  readonly testImage?: string;
  /** Push without running the seed's checks: only for packages this host cannot run. */
  readonly skipChecks?: boolean;
  /** Leave the images the checks loaded in the local dockerd. */
  readonly keepImages?: boolean;
  /** The caller's id for this build (the control plane's), else a new one. */
  readonly buildId?: string;
}

export interface BuildStepReport {
  readonly name: BuildStepName;
  readonly status: BuildStatus;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
  readonly log: string;
}

export interface BuildCheck {
  readonly name: string;
  readonly status: 'pass' | 'fail' | 'skipped';
  readonly detail: string;
  readonly output?: string;
  readonly durationMs: number;
}

export interface BuiltTag {
  readonly tag: string;
  /** registry/repository:tag */
  readonly reference: string;
  /** os/arch[/variant]; an index's platforms joined by ','. */
  readonly platform: string;
  /** The image's config digest (its id in dockerd); an index's own digest. */
  readonly imageId: string;
  /** Manifest or index digest the registry stored; set once pushed. */
  readonly digest?: string;
  /** The image's layers, compressed, as the registry stores them. */
  readonly size?: number;
  readonly form: 'index' | 'single';
}

/** What a build records of its package: the package's facts without its path, plus the QEMU version. */
export type BuildPackageFacts = Omit<QemuPackage, 'path'> & {
  /** From the emulators themselves (`--version`) when this host can run them, else the upstream version. */
  readonly qemuVersion: string;
};

export interface BuildReport {
  readonly id: string;
  readonly status: BuildStatus;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly error?: string;
  /** The request without the registry password. */
  readonly request: Omit<BuildRequest, 'auth'> & { readonly username?: string };
  /** The first package's facts. */
  readonly package?: BuildPackageFacts;
  /** Every package's facts, in the arch table's host order. */
  readonly packages?: readonly BuildPackageFacts[];
  /** The tag version (`$version`). */
  readonly version?: string;
  readonly steps: readonly BuildStepReport[];
  readonly checks: readonly BuildCheck[];
  readonly tags: readonly BuiltTag[];
  /** Length of the whole log (every step's lines); see ImageBuildService.log. */
  readonly logLength: number;
}

export type BuildEvent =
  | { readonly type: 'step'; readonly buildId: string; readonly step: BuildStepReport }
  | { readonly type: 'log'; readonly buildId: string; readonly step: BuildStepName; readonly line: string }
  | { readonly type: 'finished'; readonly report: BuildReport };
