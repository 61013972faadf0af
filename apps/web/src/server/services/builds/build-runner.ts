import type { BuildReport, BuildRequestInput } from '@binfleet/agent-contract';
import type { Db, Prisma } from '@binfleet/db';
import { AgentCallError } from '../../agents/agent-errors.ts';
import { SYSTEM } from '../audit.ts';
import type { CatalogueService } from '../catalogue/catalogue-service.ts';
import type { BuildOptions, BuildService } from './build-service.ts';
import { PackageSendStep } from './package-send-step.ts';
import { BuildReportMirror } from './report-mirror.ts';

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
  private readonly sendStep: PackageSendStep;
  private readonly mirror: BuildReportMirror;

  constructor(
    private readonly db: Db,
    private readonly builds: BuildService,
    private readonly catalogue: CatalogueService,
    private readonly config: BuildRunnerConfig,
    private readonly log: (line: Record<string, unknown>) => void = (l) => console.log(JSON.stringify(l)),
  ) {
    this.sendStep = new PackageSendStep(db, builds, log);
    this.mirror = new BuildReportMirror(db, builds.outcomes);
  }

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
      include: OPEN_BUILD,
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

  private async launch(build: OpenBuild) {
    const fail = (error: string) => this.builds.outcomes.finish(build.id, { status: 'failed', error });
    if (!build.builderHost || !build.repository)
      return void (await fail('Its builder host or repository was removed before it started.'));
    const claimed = await this.db.build.updateMany({
      where: { id: build.id, status: 'queued' },
      data: { status: 'running', startedAt: new Date() },
    });
    if (claimed.count !== 1) return;
    const auth = await this.catalogue.credentials(build.repository.registry.id);
    const packages = packagesOf(build);
    if (packages.some((p) => !p.path && !p.sha256))
      return void (await fail('An uploaded package of it was deleted before it started: upload it again.'));
    const uploads = packages.flatMap((p) => (p.sha256 ? [p.sha256] : []));
    if (uploads.length) {
      const failure = await this.sendStep.run(build.id, build.builderHost, uploads);
      // The failure names the builder.
      if (failure) return void (await fail(`Sending the package failed: ${failure}`));
      // Cancelled while the package was on its way.
      if ((await this.db.build.count({ where: { id: build.id, status: 'running' } })) === 0) return;
    }
    const ref = (p: { path: string; sha256?: string }) =>
      p.sha256 ? { sha256: p.sha256 } : { path: p.path };
    const request: BuildRequestInput = {
      buildId: build.id,
      // One package in the form every agent version takes; several as one multi-platform build.
      ...(packages.length === 1
        ? packages[0]!.sha256
          ? { packageSha256: packages[0]!.sha256 }
          : { packagePath: packages[0]!.path }
        : { packages: packages.map(ref) }),
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

  private async follow(build: OpenBuild) {
    if (!build.builderHost) {
      await this.builds.outcomes.finish(build.id, {
        status: 'failed',
        error: 'Its builder host was removed.',
        from: ['running'],
      });
      return;
    }
    const sends = packagesOf(build).some((p) => p.sha256);
    if (sends && (await this.sendStep.inFlight(build.id))) return;
    let report: BuildReport;
    try {
      report = await this.builds.agent(build.builderHost).buildStatus({ id: build.id });
    } catch (error) {
      if (error instanceof AgentCallError && error.agentCode === 'BUILD_NOT_FOUND') {
        await this.builds.outcomes.finish(build.id, {
          status: 'failed',
          error: `The builder ${build.builderHost.hostname} no longer knows this build (its agent restarted): re-run it.`,
          from: ['running'],
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
    await this.mirror.write(build.id, report, sends ? 1 : 0);
  }
}

const OPEN_BUILD = {
  builderHost: true,
  repository: { include: { registry: true } },
  inputs: { orderBy: { position: 'asc' }, include: { package: { select: { sha256: true } } } },
} satisfies Prisma.BuildInclude;

type OpenBuild = Prisma.BuildGetPayload<{ include: typeof OPEN_BUILD }>;

/**
 * The build's packages as the builder is given them: a file's path, or an upload's sha256 (neither
 * when its upload was deleted). A build from before there could be several has its own columns.
 */
function packagesOf(build: OpenBuild): { path: string; sha256?: string }[] {
  if (!build.inputs.length) {
    return [build.packageId ? { path: '', sha256: build.packageSha256 } : { path: build.packagePath }];
  }
  return build.inputs.map((input) =>
    input.package ? { path: '', sha256: input.package.sha256 } : { path: input.path },
  );
}
