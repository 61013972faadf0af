import { basename } from 'node:path';
import type { BuildReport, BuildRequestInput } from '@binfleet/agent-contract';
import type { Db, Host, Prisma, RunStatus } from '@binfleet/db';
import { AgentCallError } from '../../agents/agent-errors.ts';
import type { AgentGateway, AgentHost } from '../../agents/agent-gateway.ts';
import { ControlPlaneError } from '../../errors.ts';
import { SYSTEM, type Actor, type AuditService } from '../audit.ts';
import type { CatalogueService } from '../catalogue/catalogue-service.ts';
import type { HostService } from '../hosts.ts';
import type { PackageService } from '../packages.ts';

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

/** The step the control plane adds in front of the builder's when it sends an uploaded package. */
export const SEND_PACKAGE_STEP = 'send package';

const FINISHED: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

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
 * a builder agent and mirrored from what that agent reports (see BuildRunner).
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
    if (FINISHED.includes(build.status))
      throw new ControlPlaneError('CONFLICT', `The build has ${build.status} already.`);
    const queued = await this.db.build.updateMany({
      where: { id, status: 'queued' },
      data: { status: 'cancelled', finishedAt: new Date(), error: 'Cancelled before it started.' },
    });
    // Still sending its package: the builder knows nothing of it yet, the runner stops after sending.
    const sending =
      queued.count === 0 &&
      (await this.db.buildStep.count({
        where: { buildId: id, position: 0, name: SEND_PACKAGE_STEP, status: 'running' },
      })) > 0;
    if (sending) {
      await this.db.buildStep.updateMany({
        where: { buildId: id, position: 0, status: 'running' },
        data: { status: 'cancelled', finishedAt: new Date() },
      });
      await this.db.build.updateMany({
        where: { id, status: 'running' },
        data: { status: 'cancelled', finishedAt: new Date(), error: 'Cancelled while its package was sent.' },
      });
    } else if (queued.count === 0 && build.builderHost) {
      await this.agent(build.builderHost).cancelBuild({ id });
    }
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

export interface BuildRunnerConfig {
  readonly pollMs: number;
}

/**
 * Starts queued builds on their builders and mirrors running ones into their rows. Any number of
 * runners (one per web replica) may run: a queued build is taken with a conditional update, and
 * mirroring is idempotent, so two replicas following the same build write the same thing. A builder
 * that lost a build (its agent restarted) fails it with what to do.
 */
export class BuildRunner {
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private tickRunning: Promise<void> | undefined;
  /** What was last written per build, to skip writes when nothing changed. */
  private readonly mirrored = new Map<string, string>();

  constructor(
    private readonly db: Db,
    private readonly builds: BuildService,
    private readonly catalogue: CatalogueService,
    private readonly config: BuildRunnerConfig,
    private readonly log: (line: Record<string, unknown>) => void = (l) => console.log(JSON.stringify(l)),
  ) {}

  start(): void {
    this.stopping = false;
    const loop = async () => {
      if (this.stopping) return;
      this.tickRunning = this.tick().catch((error: unknown) => {
        this.log({ msg: 'build runner tick failed', error: (error as Error).message });
      });
      await this.tickRunning;
      if (!this.stopping) this.timer = setTimeout(loop, this.config.pollMs);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.tickRunning;
  }

  async tick(): Promise<void> {
    const open = await this.db.build.findMany({
      where: { status: { in: ['queued', 'running'] } },
      orderBy: { createdAt: 'asc' },
      include: { builderHost: true, repository: { include: { registry: true } } },
    });
    const busy = new Set(open.filter((b) => b.status === 'running').map((b) => b.builderHostId));
    for (const build of open) {
      if (this.stopping) return;
      if (build.status === 'running') await this.follow(build);
      else if (!busy.has(build.builderHostId)) {
        // One build at a time per builder; the next waits in the queue.
        busy.add(build.builderHostId);
        await this.launch(build);
      }
    }
  }

  private async launch(
    build: Prisma.BuildGetPayload<{
      include: { builderHost: true; repository: { include: { registry: true } } };
    }>,
  ) {
    const fail = (error: string) =>
      this.db.build.updateMany({
        where: { id: build.id, status: { in: ['queued', 'running'] } },
        data: { status: 'failed', error, finishedAt: new Date() },
      });
    if (!build.builderHost || !build.repository)
      return void (await fail('Its builder host or repository was removed before it started.'));
    const claimed = await this.db.build.updateMany({
      where: { id: build.id, status: 'queued' },
      data: { status: 'running', startedAt: new Date() },
    });
    if (claimed.count !== 1) return;
    const auth = await this.catalogue.credentials(build.repository.registry.id);
    if (build.packageId) {
      const failure = await this.sendPackage(build.id, build.builderHost, build.packageSha256);
      // The failure names the builder.
      if (failure) return void (await fail(`Sending the package failed: ${failure}`));
      // Cancelled while the package was on its way.
      if ((await this.db.build.count({ where: { id: build.id, status: 'running' } })) === 0) return;
    }
    const request: BuildRequestInput = {
      buildId: build.id,
      ...(build.packageId ? { packageSha256: build.packageSha256 } : { packagePath: build.packagePath }),
      registry: new URL(build.repository.registry.url).host,
      repository: build.repository.name,
      ...((build.options ?? {}) as BuildOptions),
      ...(auth ? { auth } : {}),
    };
    try {
      await this.builds.agent(build.builderHost).build(request);
      this.log({ msg: 'build started', buildId: build.id, host: build.builderHost.hostname });
    } catch (error) {
      if (error instanceof AgentCallError && error.code === 'RATE_LIMITED') {
        // The builder is busy with a build of someone else's: back to the queue.
        await this.db.build.updateMany({
          where: { id: build.id, status: 'running' },
          data: { status: 'queued', startedAt: null },
        });
        return;
      }
      await fail((error as Error).message);
    }
  }

  /**
   * The `send package` step (position 0, before the builder's own): the uploaded package goes to the
   * builder's store, its progress in the step's log. Resolves with what went wrong, if anything.
   */
  private async sendPackage(buildId: string, host: Host, sha256: string): Promise<string | undefined> {
    const started = new Date();
    let log = '';
    const write = (data: Partial<Prisma.BuildStepUncheckedCreateInput>) =>
      this.db.buildStep.upsert({
        where: { buildId_position: { buildId, position: 0 } },
        create: { buildId, position: 0, name: SEND_PACKAGE_STEP, status: 'running', startedAt: started, log },
        update: { log, ...data },
      });
    const line = (text: string) => (log += `${text}\n`);
    line(`sending package ${sha256} to ${host.hostname}`);
    // Running again when a busy builder sent the build back to the queue.
    await write({ status: 'running', startedAt: started, finishedAt: null, durationMs: null });
    let reported = 0;
    let pending: Promise<unknown> = Promise.resolve();
    const finish = async (status: RunStatus) => {
      await pending;
      const finishedAt = new Date();
      // A step cancelled meanwhile stays cancelled.
      await this.db.buildStep.updateMany({
        where: { buildId, position: 0, status: 'running' },
        data: { log, status, finishedAt, durationMs: finishedAt.getTime() - started.getTime() },
      });
    };
    try {
      const outcome = await this.builds.sendPackage(host, sha256, (sent, size) => {
        // A line per quarter, written as it comes: the build page shows the upload moving.
        const quarter = Math.floor((4 * sent) / size);
        if (quarter <= reported || quarter === 0) return;
        reported = quarter;
        line(`${Math.round((100 * sent) / size)}% (${mib(sent)} of ${mib(size)})`);
        pending = pending.then(() => write({})).catch(() => undefined);
      });
      line(
        outcome === 'present'
          ? `${host.hostname} has this package already: nothing to send`
          : `sent in ${((Date.now() - started.getTime()) / 1000).toFixed(1)} s; the builder checked its sha256`,
      );
      await finish('succeeded');
      return undefined;
    } catch (error) {
      line(`failed: ${(error as Error).message}`);
      await finish('failed');
      this.log({ msg: 'sending a package failed', buildId, error: (error as Error).message });
      return (error as Error).message;
    }
  }

  private async follow(build: Prisma.BuildGetPayload<{ include: { builderHost: true } }>) {
    if (!build.builderHost) {
      await this.db.build.updateMany({
        where: { id: build.id, status: 'running' },
        data: { status: 'failed', error: 'Its builder host was removed.', finishedAt: new Date() },
      });
      return;
    }
    if (build.packageId) {
      // Its package is still on its way (sent by this or another replica): the builder knows
      // nothing of the build yet. A send that stopped with its replica fails the build after a while.
      const sending = await this.db.buildStep.findFirst({
        where: { buildId: build.id, position: 0, name: SEND_PACKAGE_STEP, status: 'running' },
        select: { startedAt: true },
      });
      if (sending) {
        if (Date.now() - (sending.startedAt?.getTime() ?? 0) > SEND_STALE_MS) {
          await this.db.build.updateMany({
            where: { id: build.id, status: 'running' },
            data: {
              status: 'failed',
              finishedAt: new Date(),
              error: 'Sending its package stopped (the web replica sending it went away): re-run it.',
            },
          });
        }
        return;
      }
    }
    let report: BuildReport;
    try {
      report = await this.builds.agent(build.builderHost).buildStatus({ id: build.id });
    } catch (error) {
      if (error instanceof AgentCallError && error.agentCode === 'BUILD_NOT_FOUND') {
        await this.db.build.updateMany({
          where: { id: build.id, status: 'running' },
          data: {
            status: 'failed',
            finishedAt: new Date(),
            error: `The builder ${build.builderHost.hostname} no longer knows this build (its agent restarted): re-run it.`,
          },
        });
      }
      // Unreachable for now: the next tick asks again.
      return;
    }
    // A succeeded build's tags are read into the catalogue before its row turns final, so whoever
    // sees "succeeded" finds them there (the sync timer may have read the registry mid-push).
    if (report.status === 'succeeded' && build.repositoryId) {
      try {
        await this.catalogue.sync(SYSTEM, build.repositoryId);
      } catch (error) {
        this.log({
          msg: 'catalogue sync after build failed',
          buildId: build.id,
          error: (error as Error).message,
        });
      }
    }
    // The builder's steps come after the control plane's own `send package`, when it sent one.
    await this.mirror(build.id, report, build.packageId ? 1 : 0);
  }

  /** Writes the agent's report into the build's row and step rows, when it changed. */
  private async mirror(id: string, report: BuildReport, offset: number): Promise<void> {
    const key = JSON.stringify(report);
    if (this.mirrored.get(id) === key) return;
    const finished = FINISHED.includes(report.status);
    await this.db.$transaction(async (tx) => {
      await tx.build.update({
        where: { id },
        data: {
          ...(report.package
            ? {
                packageName: report.package.name,
                packageVersion: report.package.version,
                packageArch: report.package.architecture,
                packageSha256: report.package.sha256,
                qemuVersion: report.package.qemuVersion,
              }
            : {}),
          checks: report.checks as Prisma.InputJsonValue,
          pushedTags: report.tags
            .filter((t) => t.digest)
            .map((t) => ({ tag: t.tag, reference: t.reference, digest: t.digest!, platform: t.platform })),
          ...(finished
            ? {
                status: report.status,
                finishedAt: report.finishedAt ? new Date(report.finishedAt) : new Date(),
                error: report.error ?? null,
              }
            : {}),
        },
      });
      for (const [index, step] of report.steps.entries()) {
        const position = index + offset;
        const data = {
          name: step.name,
          status: step.status,
          startedAt: step.startedAt ? new Date(step.startedAt) : null,
          finishedAt: step.finishedAt ? new Date(step.finishedAt) : null,
          durationMs: step.durationMs ?? null,
          log: step.log,
        };
        await tx.buildStep.upsert({
          where: { buildId_position: { buildId: id, position } },
          create: { buildId: id, position, ...data },
          update: data,
        });
      }
    });
    if (finished) this.mirrored.delete(id);
    else this.mirrored.set(id, key);
  }
}

/** A `send package` step running for longer than this is taken as abandoned. */
const SEND_STALE_MS = 60 * 60_000;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
