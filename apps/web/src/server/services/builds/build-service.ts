import { basename } from 'node:path';
import type { Db, Prisma, RunStatus } from '@binfleet/db';
import { isFinished } from '../../../shared/run-status.ts';
import type { AgentGateway, AgentHost } from '../../agents/agent-gateway.ts';
import { ControlPlaneError } from '../../errors.ts';
import type { Actor, AuditService } from '../audit.ts';
import type { CatalogueService } from '../catalogue/catalogue-service.ts';
import type { HostService } from '../hosts/host-service.ts';
import type { PackageService } from '../packages.ts';
import { cancelWhileSending } from './package-send-step.ts';

/** What a build takes besides the builder and the repository; kept on the row (no secrets) for re-runs. */
export interface BuildOptions {
  readonly targets?: string[];
  readonly testImage?: string;
  readonly busybox?: string;
  readonly skipChecks?: boolean;
}

export interface StartBuildInput extends BuildOptions {
  readonly hostId: string;
  readonly repositoryId: string;
  /** The package as a file on the builder host... */
  readonly packagePath?: string;
  /** ...or as a package uploaded to the control plane (its record's id). */
  readonly packageId?: string;
}

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
  constructor(
    private readonly db: Db,
    private readonly hosts: HostService,
    private readonly catalogue: CatalogueService,
    private readonly audit: AuditService,
    private readonly packages: PackageService,
    private readonly gateway: AgentGateway,
  ) {}

  /** Queues a build; a runner starts it on the builder. */
  async start(actor: Actor, input: StartBuildInput): Promise<{ id: string }> {
    const host = await this.db.host.findUnique({
      where: { id: input.hostId },
      select: { id: true, hostname: true },
    });
    if (!host) throw new ControlPlaneError('NOT_FOUND', 'No such builder host: pick a host of the fleet.');
    const repo = await this.catalogue.repository(input.repositoryId);
    const source = await this.packageSource(input);
    const options: BuildOptions = {
      ...(input.targets?.length ? { targets: input.targets } : {}),
      ...(input.testImage ? { testImage: input.testImage } : {}),
      ...(input.busybox ? { busybox: input.busybox } : {}),
      ...(input.skipChecks ? { skipChecks: true } : {}),
    };
    const build = await this.db.build.create({
      data: {
        triggeredById: actor.id,
        builderHostId: host.id,
        repositoryId: repo.id,
        ...source.columns,
        qemuVersion: '',
        options: options as Prisma.InputJsonValue,
      },
      select: { id: true },
    });
    await this.audit.record({
      actor,
      action: 'build.start',
      targets: [host.hostname, repo.reference],
      params: { buildId: build.id, ...source.audit, ...options },
      outcome: 'success',
    });
    return build;
  }

  /** The build's package columns (the rest is known once the builder has read it) and its audit params. */
  private async packageSource(input: Pick<StartBuildInput, 'packagePath' | 'packageId'>) {
    if ((input.packagePath === undefined) === (input.packageId === undefined)) {
      throw new ControlPlaneError(
        'INVALID_INPUT',
        'Give the package either as a file on the builder (packagePath) or as an uploaded package (packageId).',
      );
    }
    if (input.packageId !== undefined) {
      const pkg = await this.packages.get(input.packageId);
      return {
        columns: {
          packageId: pkg.id,
          packageName: pkg.name,
          packageVersion: pkg.version,
          packageArch: pkg.architecture,
          packageSha256: pkg.sha256,
        },
        audit: { packageId: pkg.id, packageSha256: pkg.sha256, packageFile: pkg.filename },
      };
    }
    const path = input.packagePath!;
    if (!path.startsWith('/') || path.includes('\0')) {
      throw new ControlPlaneError(
        'INVALID_INPUT',
        'Give the package as an absolute path on the builder host, e.g. /var/cache/qemu-user-static_7.2_amd64.deb.',
      );
    }
    return {
      columns: {
        packagePath: path,
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
    const build = await this.db.build.findUnique({ where: { id } });
    if (!build) throw new ControlPlaneError('NOT_FOUND', 'No such build.');
    if (!build.builderHostId || !build.repositoryId) {
      throw new ControlPlaneError(
        'CONFLICT',
        'Its builder host or repository is gone: start a new build instead.',
      );
    }
    if (!build.packageId && !build.packagePath) {
      throw new ControlPlaneError(
        'CONFLICT',
        'Its uploaded package is gone: upload it again and start a new build.',
      );
    }
    return this.start(actor, {
      hostId: build.builderHostId,
      repositoryId: build.repositoryId,
      ...(build.packageId ? { packageId: build.packageId } : { packagePath: build.packagePath }),
      ...((build.options ?? {}) as BuildOptions),
    });
  }

  /** A queued build is cancelled at once; a running one is asked to stop on its builder. */
  async cancel(actor: Actor, id: string): Promise<void> {
    const build = await this.db.build.findUnique({ where: { id }, include: { builderHost: true } });
    if (!build) throw new ControlPlaneError('NOT_FOUND', 'No such build.');
    if (isFinished(build.status))
      throw new ControlPlaneError('CONFLICT', `The build has ${build.status} already.`);
    const queued = await this.db.build.updateMany({
      where: { id, status: 'queued' },
      data: { status: 'cancelled', finishedAt: new Date(), error: 'Cancelled before it started.' },
    });
    // Running: cancelled here while its package is still on its way, else on its builder.
    const stopped = queued.count > 0 || (await cancelWhileSending(this.db, id));
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

function view(row: BuildRow) {
  const { repository, builderHost, triggeredBy, package: uploaded, ...rest } = row;
  const reference = repository ? `${new URL(repository.registry.url).host}/${repository.name}` : null;
  return {
    ...rest,
    options: (rest.options ?? {}) as BuildOptions,
    repository: repository ? { id: repository.id, reference } : null,
    builder: builderHost,
    triggeredBy: triggeredBy?.username ?? null,
    /** The name the package was uploaded under, for builds from an upload. */
    uploadedFilename: uploaded?.filename ?? null,
  };
}
