import { basename } from 'node:path';
import type { Db, Host, Prisma, RunStatus } from '@binfleet/db';
import { isFinished } from '../../../shared/run-status.ts';
import type { AgentGateway, AgentHost } from '../../agents/agent-gateway.ts';
import { ControlPlaneError } from '../../errors.ts';
import type { Actor, AuditService } from '../audit.ts';
import type { CatalogueService } from '../catalogue/catalogue-service.ts';
import type { HostService } from '../hosts/host-service.ts';
import type { PackageService } from '../packages.ts';
import { BuildOutcomes } from './build-outcome.ts';
import { cancelWhileSending } from './package-send-step.ts';

/** What a build takes besides the builder and the repository; kept on the row (no secrets) for re-runs. */
export interface BuildOptions {
  readonly targets?: string[];
  readonly testImage?: string;
  readonly busybox?: string;
  /** Busybox binaries or busybox-static packages on the builder, one per host architecture. */
  readonly busyboxes?: string[];
  readonly skipChecks?: boolean;
}

/** One package of a build: a file on the builder host, or a package uploaded to the control plane. */
export interface BuildPackageRef {
  readonly path?: string;
  readonly packageId?: string;
}

export interface StartBuildInput extends BuildOptions {
  readonly hostId: string;
  readonly repositoryId: string;
  /** The package as a file on the builder host... */
  readonly packagePath?: string;
  /** ...or as a package uploaded to the control plane (its record's id)... */
  readonly packageId?: string;
  /** ...or several, one per host architecture: one multi-platform build. */
  readonly packages?: readonly BuildPackageRef[];
}

/** As many packages as the agent API takes in one build. */
const MAX_PACKAGES = 16;

const buildSelect = {
  id: true,
  status: true,
  error: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
  packagePath: true,
  packageId: true,
  package: { select: { filename: true } },
  packageName: true,
  packageVersion: true,
  packageArch: true,
  packageSha256: true,
  qemuVersion: true,
  options: true,
  inputs: {
    orderBy: { position: 'asc' },
    select: { path: true, packageId: true, package: { select: { filename: true, architecture: true } } },
  },
  packageFacts: true,
  checks: true,
  pushedTags: true,
  triggeredBy: { select: { username: true } },
  builderHost: { select: { id: true, hostname: true } },
  repository: { select: { id: true, name: true, registry: { select: { url: true } } } },
} satisfies Prisma.BuildSelect;

/**
 * Image builds as the control plane keeps them: a durable Build row per build with its steps, run on
 * a builder agent and mirrored from what that agent reports (see build-runner.ts).
 */
export class BuildService {
  /** Every path that ends a build ends it through this (and its audit row). */
  readonly outcomes: BuildOutcomes;

  constructor(
    private readonly db: Db,
    private readonly hosts: HostService,
    private readonly catalogue: CatalogueService,
    private readonly audit: AuditService,
    private readonly packages: PackageService,
    private readonly gateway: AgentGateway,
  ) {
    this.outcomes = new BuildOutcomes(db, audit);
  }

  /** Queues a build; a runner starts it on the builder. */
  async start(actor: Actor, input: StartBuildInput): Promise<{ id: string }> {
    const host = await this.db.host.findUnique({
      where: { id: input.hostId },
      select: { id: true, hostname: true },
    });
    if (!host) throw new ControlPlaneError('NOT_FOUND', 'No such builder host: pick a host of the fleet.');
    const repo = await this.catalogue.repository(input.repositoryId);
    const sources = await this.packageSources(input);
    const first = sources[0]!;
    const options: BuildOptions = {
      ...(input.targets?.length ? { targets: input.targets } : {}),
      ...(input.testImage ? { testImage: input.testImage } : {}),
      ...(input.busybox ? { busybox: input.busybox } : {}),
      ...(input.busyboxes?.length ? { busyboxes: input.busyboxes } : {}),
      ...(input.skipChecks ? { skipChecks: true } : {}),
    };
    const build = await this.db.build.create({
      data: {
        triggeredById: actor.id,
        builderHostId: host.id,
        repositoryId: repo.id,
        ...first.columns,
        qemuVersion: '',
        options: options as Prisma.InputJsonValue,
        inputs: {
          create: sources.map((source, position) => ({
            position,
            path: source.columns.packagePath,
            packageId: source.columns.packageId,
          })),
        },
      },
      select: { id: true },
    });
    await this.audit.record({
      actor,
      action: 'build.start',
      targets: [host.hostname, repo.reference],
      params: {
        buildId: build.id,
        ...(sources.length === 1 ? first.audit : { packages: sources.map((source) => source.audit) }),
        ...options,
      },
      outcome: 'success',
    });
    return build;
  }

  /** Each package's source, as columns of the build's row and as audit params, in the order given. */
  private async packageSources(input: Pick<StartBuildInput, 'packagePath' | 'packageId' | 'packages'>) {
    const given = [input.packagePath, input.packageId, input.packages].filter((p) => p !== undefined);
    if (given.length !== 1) {
      throw new ControlPlaneError(
        'INVALID_INPUT',
        'Give the package as a file on the builder (packagePath) or as an uploaded package (packageId), ' +
          'or several as packages (one per host architecture): one of them.',
      );
    }
    const refs = input.packages ?? [{ path: input.packagePath, packageId: input.packageId }];
    if (refs.length === 0 || refs.length > MAX_PACKAGES) {
      throw new ControlPlaneError(
        'INVALID_INPUT',
        `Give 1 to ${MAX_PACKAGES} packages, one per host architecture.`,
      );
    }
    const sources = [];
    for (const ref of refs) sources.push(await this.packageSource(ref));
    // The builder refuses two of one architecture too, but an upload's is known now: say so before queueing.
    const archs = sources.map((s) => s.columns.packageArch).filter((a) => a !== '');
    const twice = archs.find((a, i) => archs.indexOf(a) !== i);
    if (twice) {
      throw new ControlPlaneError(
        'INVALID_INPUT',
        `Two of the packages are for ${twice}: give one package per host architecture.`,
      );
    }
    return sources;
  }

  /** A package's columns (the rest is known once the builder has read it) and its audit params. */
  private async packageSource(input: BuildPackageRef) {
    if ((input.path === undefined) === (input.packageId === undefined)) {
      throw new ControlPlaneError(
        'INVALID_INPUT',
        'Give each package either as a file on the builder (path) or as an uploaded package (packageId).',
      );
    }
    if (input.packageId !== undefined) {
      const pkg = await this.packages.get(input.packageId);
      return {
        columns: {
          packagePath: '',
          packageId: pkg.id,
          packageName: pkg.name,
          packageVersion: pkg.version,
          packageArch: pkg.architecture,
          packageSha256: pkg.sha256,
        },
        audit: { packageId: pkg.id, packageSha256: pkg.sha256, packageFile: pkg.filename },
      };
    }
    const path = input.path!;
    if (!path.startsWith('/') || path.includes('\0')) {
      throw new ControlPlaneError(
        'INVALID_INPUT',
        'Give the package as an absolute path on the builder host, e.g. /var/cache/qemu-user-static_7.2_amd64.deb.',
      );
    }
    return {
      columns: {
        packagePath: path,
        packageId: null,
        packageName: basename(path),
        packageVersion: '',
        packageArch: '',
        packageSha256: '',
      },
      audit: { packagePath: path },
    };
  }

  /** A new build with the same inputs. */
  async rerun(actor: Actor, id: string): Promise<{ id: string }> {
    const build = await this.db.build.findUnique({ where: { id }, include: { inputs: true } });
    if (!build) throw new ControlPlaneError('NOT_FOUND', 'No such build.');
    if (!build.builderHostId || !build.repositoryId) {
      throw new ControlPlaneError(
        'CONFLICT',
        'Its builder host or repository is gone: start a new build instead.',
      );
    }
    const refs = packageRefsOf(build);
    if (refs.some((ref) => !ref.packageId && !ref.path)) {
      throw new ControlPlaneError(
        'CONFLICT',
        'An uploaded package of it is gone: upload it again and start a new build.',
      );
    }
    const packages = refs.map((ref) => (ref.packageId ? { packageId: ref.packageId } : { path: ref.path }));
    return this.start(actor, {
      hostId: build.builderHostId,
      repositoryId: build.repositoryId,
      ...(packages.length === 1
        ? packages[0]!.packageId
          ? { packageId: packages[0]!.packageId }
          : { packagePath: packages[0]!.path }
        : { packages }),
      ...((build.options ?? {}) as BuildOptions),
    });
  }

  /** A queued build is cancelled at once; a running one is asked to stop on its builder. */
  async cancel(actor: Actor, id: string): Promise<void> {
    const build = await this.db.build.findUnique({ where: { id }, include: { builderHost: true } });
    if (!build) throw new ControlPlaneError('NOT_FOUND', 'No such build.');
    if (isFinished(build.status))
      throw new ControlPlaneError('CONFLICT', `The build has ${build.status} already.`);
    const queued = await this.outcomes.finish(id, {
      status: 'cancelled',
      error: 'Cancelled before it started.',
      from: ['queued'],
      actor,
    });
    // Running: cancelled here while its package is still on its way, else on its builder.
    const stopped = queued || (await cancelWhileSending(this.db, this.outcomes, id, actor));
    if (!stopped && build.builderHost) await this.agent(build.builderHost).cancelBuild({ id });
    await this.audit.record({
      actor,
      action: 'build.cancel',
      targets: [build.builderHost?.hostname ?? id],
      params: { buildId: id },
      outcome: 'success',
    });
  }

  async list(input: { status?: RunStatus; cursor?: string; limit: number }) {
    const rows = await this.db.build.findMany({
      where: input.status ? { status: input.status } : {},
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: input.limit + 1,
      ...(input.cursor ? { cursor: { id: input.cursor }, skip: 1 } : {}),
      select: buildSelect,
    });
    return {
      items: rows.slice(0, input.limit).map(view),
      nextCursor: rows.length > input.limit ? rows[input.limit - 1]!.id : null,
    };
  }

  async get(id: string) {
    const row = await this.db.build.findUnique({
      where: { id },
      select: {
        ...buildSelect,
        steps: {
          orderBy: { position: 'asc' },
          select: {
            position: true,
            name: true,
            status: true,
            startedAt: true,
            finishedAt: true,
            durationMs: true,
            log: true,
          },
        },
        tags: { orderBy: { tag: 'asc' }, select: { tag: true, digest: true } },
      },
    });
    if (!row) throw new ControlPlaneError('NOT_FOUND', 'No such build.');
    const { steps, tags, ...build } = row;
    return { ...view(build), steps, catalogueTags: tags };
  }

  /** Hosts that can build: online, with dockerd. */
  async builders() {
    const since = this.hosts.onlineSince();
    const rows = await this.db.host.findMany({
      where: { dockerVersion: { not: null } },
      orderBy: { hostname: 'asc' },
      select: { id: true, hostname: true, arch: true, dockerVersion: true, lastSeenAt: true },
    });
    return rows.map((h) => ({ ...h, online: h.lastSeenAt !== null && h.lastSeenAt >= since }));
  }

  agent(host: AgentHost) {
    return this.gateway.connect(host);
  }

  /**
   * The file of an uploaded package a dial-out builder fetches: only while a build of that host that
   * names it is queued or running, so a host's credential opens no other package.
   */
  async packageForBuilder(
    host: Pick<Host, 'id' | 'hostname'>,
    sha256: string,
  ): Promise<{ path: string; size: number }> {
    const needed = await this.db.build.findFirst({
      where: {
        builderHostId: host.id,
        status: { in: ['queued', 'running'] },
        OR: [{ package: { sha256 } }, { inputs: { some: { package: { sha256 } } } }],
      },
      select: { id: true },
    });
    if (!needed) {
      throw new ControlPlaneError(
        'NOT_FOUND',
        `No queued or running build of ${host.hostname} needs package ${sha256}: a builder fetches only what its builds name.`,
      );
    }
    return this.packages.file(sha256);
  }

  /** Sends an uploaded package to a builder's package store (unless it has it), with progress. */
  async sendPackage(
    host: AgentHost,
    sha256: string,
    onProgress: (sent: number, size: number) => void,
  ): Promise<'sent' | 'present'> {
    const file = await this.packages.file(sha256);
    return this.agent(host).sendPackage({
      sha256,
      path: file.path,
      size: file.size,
      onProgress: (sent) => onProgress(sent, file.size),
    });
  }
}

type BuildRow = Prisma.BuildGetPayload<{ select: typeof buildSelect }>;

/**
 * A build's packages in the order given: its package rows, or, for a build from before there could be
 * several, its own package columns.
 */
export function packageRefsOf(build: {
  readonly packagePath: string;
  readonly packageId: string | null;
  readonly inputs: readonly { readonly path: string; readonly packageId: string | null }[];
}): { path: string; packageId: string | null }[] {
  return build.inputs.length
    ? build.inputs.map((input) => ({ path: input.path, packageId: input.packageId }))
    : [{ path: build.packagePath, packageId: build.packageId }];
}

/** The facts of each package as its builder reported them (a build from before: its own columns). */
type PackageFacts = {
  name: string;
  version: string;
  architecture: string;
  sha256: string;
  qemuVersion: string;
};

function view(row: BuildRow) {
  const { repository, builderHost, triggeredBy, package: uploaded, inputs, packageFacts, ...rest } = row;
  const reference = repository ? `${new URL(repository.registry.url).host}/${repository.name}` : null;
  const facts = (packageFacts ?? []) as PackageFacts[];
  // The packages as given, each with what is known of it: an upload's facts at once, a file's once read.
  const packages = inputs.length
    ? inputs.map((input) => ({
        path: input.path,
        packageId: input.packageId,
        uploadedFilename: input.package?.filename ?? null,
        architecture: input.package?.architecture ?? null,
      }))
    : [
        {
          path: rest.packagePath,
          packageId: rest.packageId,
          uploadedFilename: uploaded?.filename ?? null,
          architecture: rest.packageArch || null,
        },
      ];
  const reported = facts.length
    ? facts
    : rest.packageArch
      ? [
          {
            name: rest.packageName,
            version: rest.packageVersion,
            architecture: rest.packageArch,
            sha256: rest.packageSha256,
            qemuVersion: rest.qemuVersion,
          },
        ]
      : [];
  return {
    ...rest,
    packages,
    /** Every package's facts once the builder read them, in the arch table's host order. */
    packageFacts: reported,
    /** The host architectures the build covers (Debian names), as far as known. */
    hostArchs: reported.length
      ? reported.map((f) => f.architecture)
      : packages.flatMap((p) => (p.architecture ? [p.architecture] : [])),
    options: (rest.options ?? {}) as BuildOptions,
    repository: repository ? { id: repository.id, reference } : null,
    builder: builderHost,
    triggeredBy: triggeredBy?.username ?? null,
    /** The name the package was uploaded under, for builds from an upload. */
    uploadedFilename: uploaded?.filename ?? null,
  };
}
