import { randomUUID } from 'node:crypto';
import { AgentError } from '../errors.ts';
import type { PackageStore } from '@binfleet/deb';
import { Build, type PackageFile } from './build-record.ts';
import type { BuildEvent, BuildPackageRef, BuildReport, BuildRequest, BuildStatus } from './build-report.ts';
import { runPipeline, type PipelineDeps } from './pipeline.ts';

export interface ImageBuildServiceDeps extends Omit<PipelineDeps, 'containerTimeoutMs'> {
  readonly containerTimeoutMs?: number;
  /** Packages uploaded to this builder, for requests that name one by sha256. */
  readonly packageStore?: PackageStore;
  /** Finished builds kept for status queries. */
  readonly keep?: number;
}

/**
 * Image builds on this host (a builder agent or `binfleet-agent build`), one at a time: each assembles
 * the seed's image set from one QEMU package per host architecture, tests it with the seed's checks,
 * and pushes it through the registry API (pipeline.ts). The machine's binfmt_misc is put back as it
 * was after the checks, whatever they did.
 */
export class ImageBuildService {
  private readonly builds = new Map<string, Build>();
  private current: Build | undefined;
  private readonly pipeline: PipelineDeps;

  constructor(private readonly deps: ImageBuildServiceDeps) {
    this.pipeline = {
      ...deps,
      containerTimeoutMs: deps.containerTimeoutMs ?? 60_000,
    };
  }

  /** Starts a build and returns at once; follow it with get(), log() or the event callback. */
  async start(request: BuildRequest, onEvent?: (event: BuildEvent) => void): Promise<BuildReport> {
    if (this.current) {
      throw new AgentError(
        'BUSY',
        `Build ${this.current.id} is running on this builder: wait for it or cancel it, then start again.`,
        { running: this.current.id },
      );
    }
    const packageFiles = await this.packageFilesOf(request);
    const id = request.buildId ?? randomUUID();
    if (this.builds.has(id))
      throw new AgentError('INVALID_INPUT', `Build ${id} exists already: use another id.`);
    const build = new Build(id, { ...request, packageFiles }, onEvent);
    this.current = build;
    this.builds.set(id, build);
    this.prune();
    build.done = runPipeline(build, this.pipeline).finally(() => {
      this.current = undefined;
    });
    return build.report();
  }

  /** The files a request names: paths on this host, or stored packages with their sha256. */
  private async packageFilesOf(request: BuildRequest): Promise<PackageFile[]> {
    const refs: readonly BuildPackageRef[] =
      request.packages ??
      (request.packageSha256 !== undefined
        ? [{ sha256: request.packageSha256 }]
        : [{ path: request.packagePath }]);
    const files: PackageFile[] = [];
    for (const ref of refs) {
      if (ref.sha256 !== undefined) {
        if (!this.deps.packageStore)
          throw new AgentError('NOT_BUILDER', 'This agent keeps no uploaded packages: give package paths.');
        files.push({ path: (await this.deps.packageStore.require(ref.sha256)).path, sha256: ref.sha256 });
        continue;
      }
      const facts = ref.path === undefined ? undefined : await this.pipeline.os.fileFacts(ref.path);
      if (!facts?.isFile) {
        throw new AgentError(
          'INVALID_PACKAGE',
          `No package file at ${ref.path ?? '(none given)'} on this builder: give the path of a .deb on this host.`,
        );
      }
      files.push({ path: ref.path! });
    }
    return files;
  }

  /** Starts a build and waits for its end. */
  async run(request: BuildRequest, onEvent?: (event: BuildEvent) => void): Promise<BuildReport> {
    const { id } = await this.start(request, onEvent);
    await this.builds.get(id)!.done;
    return this.get(id);
  }

  get(id: string): BuildReport {
    return this.find(id).report();
  }

  list(): BuildReport[] {
    return [...this.builds.values()].reverse().map((b) => b.report());
  }

  /** The live log from character `from` on, and where to continue. */
  log(id: string, from = 0): { text: string; next: number; status: BuildStatus } {
    const build = this.find(id);
    const start = Math.max(0, Math.min(from, build.log.length));
    return { text: build.log.slice(start), next: build.log.length, status: build.status };
  }

  /** Stops a running build at the next operation; its images are removed and binfmt_misc put back. */
  cancel(id: string): BuildReport {
    const build = this.find(id);
    if (build.status === 'running' || build.status === 'queued') build.controller.abort();
    return build.report();
  }

  private find(id: string): Build {
    const build = this.builds.get(id);
    if (!build)
      throw new AgentError(
        'BUILD_NOT_FOUND',
        `No build ${id} on this builder (it keeps the last ${this.deps.keep ?? 20}).`,
      );
    return build;
  }

  private prune(): void {
    const keep = this.deps.keep ?? 20;
    for (const [id, build] of this.builds) {
      if (this.builds.size <= keep) break;
      if (build !== this.current) this.builds.delete(id);
    }
  }
}
