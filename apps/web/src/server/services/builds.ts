import { basename } from 'node:path';
import { createAgentClient } from '@binfleet/agent/client';
import type { BuildRequestInput } from '@binfleet/agent/build-request';
import type { Db, Host, Prisma, RunStatus } from '@binfleet/db';
import { TRPCClientError } from '@trpc/client';
import { ControlPlaneError } from '../errors.ts';
import type { AgentClientFactory } from './agent-gateway.ts';
import { SYSTEM, type Actor, type AuditService } from './audit.ts';
import type { CatalogueService } from './catalogue.ts';
import type { HostService } from './hosts.ts';

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
  readonly packagePath: string;
}

const FINISHED: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

const buildSelect = {
  id: true,
  status: true,
  error: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
  packagePath: true,
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
    private readonly clientFactory: AgentClientFactory = createAgentClient,
  ) {}

  /** Queues a build; a runner starts it on the builder. */
  async start(actor: Actor, input: StartBuildInput): Promise<{ id: string }> {
    const host = await this.db.host.findUnique({
      where: { id: input.hostId },
      select: { id: true, hostname: true },
    });
    if (!host) throw new ControlPlaneError('NOT_FOUND', 'No such builder host: pick a host of the fleet.');
    const repo = await this.catalogue.repository(input.repositoryId);
    if (!input.packagePath.startsWith('/') || input.packagePath.includes('\0')) {
      throw new ControlPlaneError(
        'INVALID_INPUT',
        'Give the package as an absolute path on the builder host, e.g. /var/cache/qemu-user-static_7.2_amd64.deb.',
      );
    }
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
        packagePath: input.packagePath,
        // Known once the builder has read the package.
        packageName: basename(input.packagePath),
        packageVersion: '',
        packageArch: '',
        packageSha256: '',
        qemuVersion: '',
        options: options as Prisma.InputJsonValue,
      },
      select: { id: true },
    });
    await this.audit.record({
      actor,
      action: 'build.start',
      targets: [host.hostname, repo.reference],
      params: { buildId: build.id, packagePath: input.packagePath, ...options },
      outcome: 'success',
    });
    return build;
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
    return this.start(actor, {
      hostId: build.builderHostId,
      repositoryId: build.repositoryId,
      packagePath: build.packagePath,
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
    if (queued.count === 0 && build.builderHost) {
      await this.agent(build.builderHost)
        .cancelBuild.mutate({ id })
        .catch((error: unknown) => {
          throw agentError(build.builderHost!, error);
        });
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

  agent(host: Pick<Host, 'agentUrl' | 'agentId' | 'agentTokenSealed'>) {
    return this.clientFactory(host.agentUrl, this.hosts.agentToken(host));
  }
}

type BuildRow = Prisma.BuildGetPayload<{ select: typeof buildSelect }>;

function view(row: BuildRow) {
  const { repository, builderHost, triggeredBy, ...rest } = row;
  const reference = repository ? `${new URL(repository.registry.url).host}/${repository.name}` : null;
  return {
    ...rest,
    options: (rest.options ?? {}) as BuildOptions,
    repository: repository ? { id: repository.id, reference } : null,
    builder: builderHost,
    triggeredBy: triggeredBy?.username ?? null,
  };
}

/** The agent's report, as far as the control plane mirrors it. */
interface AgentBuildReport {
  status: RunStatus;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
  package?: { name: string; version: string; architecture: string; sha256: string; qemuVersion: string };
  steps: readonly {
    name: string;
    status: RunStatus;
    startedAt?: string;
    finishedAt?: string;
    durationMs?: number;
    log: string;
  }[];
  checks: readonly unknown[];
  tags: readonly { tag: string; reference: string; digest?: string; platform: string }[];
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
    const request: BuildRequestInput = {
      buildId: build.id,
      packagePath: build.packagePath,
      registry: new URL(build.repository.registry.url).host,
      repository: build.repository.name,
      ...((build.options ?? {}) as BuildOptions),
      ...(auth ? { auth } : {}),
    };
    try {
      await this.builds.agent(build.builderHost).build.mutate(request);
      this.log({ msg: 'build started', buildId: build.id, host: build.builderHost.hostname });
    } catch (error) {
      const described = agentError(build.builderHost, error);
      if (described.code === 'RATE_LIMITED') {
        // The builder is busy with a build of someone else's: back to the queue.
        await this.db.build.updateMany({
          where: { id: build.id, status: 'running' },
          data: { status: 'queued', startedAt: null },
        });
        return;
      }
      await fail(described.message);
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
    let report: AgentBuildReport;
    try {
      report = (await this.builds
        .agent(build.builderHost)
        .buildStatus.query({ id: build.id })) as AgentBuildReport;
    } catch (error) {
      const code =
        error instanceof TRPCClientError
          ? (error.data as { agentCode?: string } | undefined)?.agentCode
          : undefined;
      if (code === 'BUILD_NOT_FOUND') {
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
    await this.mirror(build.id, report);
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
  }

  /** Writes the agent's report into the build's row and step rows, when it changed. */
  private async mirror(id: string, report: AgentBuildReport): Promise<void> {
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
      for (const [position, step] of report.steps.entries()) {
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

/** An agent's refusal or absence, in words for the build row or the caller. */
function agentError(host: Pick<Host, 'hostname' | 'agentUrl'>, error: unknown): ControlPlaneError {
  if (error instanceof TRPCClientError) {
    const data = error.data as { code?: string; agentCode?: string } | undefined;
    if (data?.code === 'TOO_MANY_REQUESTS')
      return new ControlPlaneError('RATE_LIMITED', `${host.hostname} is busy: ${error.message}`);
    if (data?.code === 'UNAUTHORIZED') {
      return new ControlPlaneError(
        'AGENT_FAILED',
        `The agent on ${host.hostname} refused our credential: re-join it.`,
      );
    }
    if (data?.code) return new ControlPlaneError('AGENT_FAILED', `${host.hostname}: ${error.message}`);
  }
  return new ControlPlaneError(
    'AGENT_UNREACHABLE',
    `The agent on ${host.hostname} at ${host.agentUrl} is unreachable: check that binfleet-agent runs there.`,
  );
}
