import type { BuildStatus } from '@binfleet/agent-contract';
import type { TargetId } from '@binfleet/arch-table';
import type { QemuPackage } from '@binfleet/deb';
import type { RegistryAuth } from '../adapters/docker-client.ts';

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

export interface BuildRequest {
  /** The QEMU package on this host, e.g. Debian's qemu-user-static_*.deb. */
  readonly packagePath?: string;
  /** Or a package a control plane uploaded to this builder's package store, by its sha256. */
  readonly packageSha256?: string;
  /** Registry host[:port], e.g. 127.0.0.1:5000 or registry.example.com. */
  readonly registry: string;
  /** Repository in that registry, e.g. multiarch/qemu-user-static. */
  readonly repository: string;
  readonly auth?: RegistryAuth;
  /** Default: every emulator target in the package. */
  readonly targets?: readonly TargetId[];
  /** Static busybox of the package's architecture for the register image (default: the agent's). */
  readonly busybox?: string;
  /** Foreign image for the container checks (default: the agent's verify image for the check target). */
  readonly testImage?: string;
  /** Push without running the seed's checks: only for packages this host cannot run. */
  readonly skipChecks?: boolean;
  /** Leave the images in the local dockerd after pushing. */
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
  readonly platform: string;
  readonly imageId: string;
  /** Manifest digest the registry stored; set once pushed. */
  readonly digest?: string;
  /** The image's size in dockerd (uncompressed). */
  readonly size?: number;
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
  readonly package?: BuildPackageFacts;
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
