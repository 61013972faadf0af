import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  dockerPlatformOf,
  hostArchOf,
  parseEntryFile,
  PROVENANCE_LABELS,
  tagVersionOf,
  type TargetId,
} from '@binfleet/arch-table';
import type { BinfmtFs } from '../adapters/binfmt-fs.ts';
import {
  emulatorDockerfile,
  fullDockerfile,
  integrationDockerfile,
  pickCheckTarget,
  planImages,
  type ImagePlan,
  type PlannedImage,
} from '../build/build-plan.ts';
import { emulatorPath, extractPackage, readQemuPackage, type QemuPackage } from '../build/qemu-package.ts';
import { checkBusybox, registerContext } from '../build/register-context.ts';
import { tarStream, type TarEntry } from '../build/tar-stream.ts';
import type { DockerClient, ImageClient, RegistryAuth, RunOnceOptions } from '../adapters/docker-client.ts';
import { AgentError } from '../errors.ts';
import type { HostOs } from '../adapters/host-os.ts';
import { nodeHostOs } from '../adapters/node-host-os.ts';
import { parseQemuVersion } from '../host/qemu-version.ts';
import { restoreBinfmtSnapshot, takeBinfmtSnapshot } from './binfmt-snapshot.ts';
import { judgeUname } from './machine-check.ts';
import type { OperationLock } from './operation-lock.ts';
import type { PackageStore } from './package-store.ts';
import { imageForTarget } from './verify-image.ts';

export type BuildStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

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

export interface ImageBuildServiceDeps {
  readonly docker: DockerClient & ImageClient;
  /** dockerd's binfmt_misc, the machine's own: what the register image changes and the checks read. */
  readonly machineBinfmt: BinfmtFs;
  /** The host's operation lock: the checks change binfmt_misc, nothing else may meanwhile. */
  readonly lock: OperationLock;
  readonly lockWaitMs: number;
  /**
   * This agent sees its own user namespace's binfmt_misc, not the machine's that dockerd's containers
   * use: the checks cannot look at what the register image did.
   */
  readonly binfmtNamespaced?: boolean;
  /** `uname -m` or HOST_ARCH of this builder. */
  readonly hostArch: string;
  /** Static busybox for register images when a request names none (Debian busybox-static: /bin/busybox). */
  readonly busybox?: string;
  /** Image per target for the container checks ({official}, {debian}, {target}), as verify uses. */
  readonly testImageTemplate: string;
  readonly os?: HostOs;
  /** Reads and unpacks packages (default: dpkg-deb). */
  readonly packages?: PackageReader;
  /** Packages uploaded to this builder, for requests that name one by sha256. */
  readonly packageStore?: PackageStore;
  readonly workDir?: string;
  /** Finished builds kept for status queries. */
  readonly keep?: number;
  readonly containerTimeoutMs?: number;
}

export interface PackageReader {
  read(path: string): Promise<QemuPackage>;
  /** Unpacks the package's files under `dir`. */
  extract(path: string, dir: string): Promise<void>;
}

const dpkgDebReader: PackageReader = { read: readQemuPackage, extract: extractPackage };

/** Log lines kept per step; the oldest go first (a push of 130 tags logs a few hundred). */
const STEP_LOG_LIMIT = 256 * 1024;

class Build {
  readonly controller = new AbortController();
  status: BuildStatus = 'queued';
  readonly createdAt = new Date().toISOString();
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  package?: BuildPackageFacts;
  version?: string;
  readonly steps = BUILD_STEPS.map(
    (name): { -readonly [K in keyof BuildStepReport]: BuildStepReport[K] } => ({
      name,
      status: 'queued',
      log: '',
    }),
  );
  readonly checks: BuildCheck[] = [];
  readonly tags = new Map<string, BuiltTag>();
  /** Every tag of the plan in the scheme's order, once planned: reports list tags in it. */
  order: readonly string[] = [];
  /** Every line of every step, in order, with its step's name: the live log. */
  log = '';
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly request: BuildRequest & { readonly packagePath: string },
    private readonly onEvent: ((event: BuildEvent) => void) | undefined,
  ) {}

  emit(event: BuildEvent): void {
    try {
      this.onEvent?.(event);
    } catch {
      // A listener's failure is not the build's.
    }
  }

  report(): BuildReport {
    const { auth, ...request } = this.request;
    return {
      id: this.id,
      status: this.status,
      createdAt: this.createdAt,
      ...(this.startedAt ? { startedAt: this.startedAt } : {}),
      ...(this.finishedAt ? { finishedAt: this.finishedAt } : {}),
      ...(this.error ? { error: this.error } : {}),
      request: { ...request, ...(auth ? { username: auth.username } : {}) },
      ...(this.package ? { package: this.package } : {}),
      ...(this.version ? { version: this.version } : {}),
      steps: this.steps.map((s) => ({ ...s })),
      checks: [...this.checks],
      tags: this.order.flatMap((tag) => this.tags.get(tag) ?? []),
      logLength: this.log.length,
    };
  }
}

/**
 * Builds the seed's image set from a QEMU package on this host (a builder agent) through dockerd,
 * tests it with the seed's checks, and pushes it; one build at a time. The machine's binfmt_misc is
 * put back as it was after the checks, whatever they did.
 */
export class ImageBuildService {
  private readonly builds = new Map<string, Build>();
  private current: Build | undefined;
  private readonly os: HostOs;
  private readonly packages: PackageReader;
  private readonly containerTimeoutMs: number;

  constructor(private readonly deps: ImageBuildServiceDeps) {
    this.os = deps.os ?? nodeHostOs;
    this.packages = deps.packages ?? dpkgDebReader;
    this.containerTimeoutMs = deps.containerTimeoutMs ?? 60_000;
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
    const packagePath = await this.packagePathOf(request);
    const id = request.buildId ?? randomUUID();
    if (this.builds.has(id))
      throw new AgentError('INVALID_INPUT', `Build ${id} exists already: use another id.`);
    const build = new Build(id, { ...request, packagePath }, onEvent);
    this.current = build;
    this.builds.set(id, build);
    this.prune();
    build.done = this.execute(build).finally(() => {
      this.current = undefined;
    });
    return build.report();
  }

  /** The file a request names: its path on this host, or the stored package with its sha256. */
  private async packagePathOf(request: BuildRequest): Promise<string> {
    if (request.packageSha256 !== undefined) {
      if (!this.deps.packageStore)
        throw new AgentError('NOT_BUILDER', 'This agent keeps no uploaded packages: give a packagePath.');
      return (await this.deps.packageStore.require(request.packageSha256)).path;
    }
    const path = request.packagePath;
    const facts = path === undefined ? undefined : await this.os.fileFacts(path);
    if (!facts?.isFile) {
      throw new AgentError(
        'INVALID_PACKAGE',
        `No package file at ${path ?? '(none given)'} on this builder: give the path of a .deb on this host.`,
      );
    }
    return path!;
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

  private async execute(build: Build): Promise<void> {
    build.status = 'running';
    build.startedAt = new Date().toISOString();
    const { request } = build;
    const signal = build.controller.signal;
    const repository = `${request.registry}/${request.repository}`;
    const reference = (tag: string) => `${repository}:${tag}`;
    const local = new Set<string>();
    let work: string | undefined;
    let outcome: BuildStatus = 'failed';
    try {
      const pkg = await this.step(build, 'read package', async (log) => {
        const pkg = await this.packages.read(request.packagePath);
        if (request.packageSha256 !== undefined && pkg.sha256 !== request.packageSha256) {
          throw new AgentError(
            'INVALID_PACKAGE',
            `The stored package ${request.packageSha256} now hashes to ${pkg.sha256}: it changed on disk; upload it again.`,
          );
        }
        log(`${pkg.name} ${pkg.version} (${pkg.architecture}), sha256 ${pkg.sha256}, ${pkg.size} bytes`);
        log(`emulators: ${pkg.emulators.join(' ')}`);
        const builder = hostArchOf(this.deps.hostArch).cpu;
        if (pkg.fromArch !== builder && !request.skipChecks) {
          throw new AgentError(
            'INVALID_INPUT',
            `The package is for ${pkg.fromArch} but this builder is ${builder}: its images cannot be tested here. ` +
              `Build on a ${pkg.fromArch} builder, or skip the checks.`,
          );
        }
        const busybox = request.busybox ?? this.deps.busybox ?? '/bin/busybox';
        checkBusybox(busybox, await this.os.readHead(busybox, 64 * 1024), pkg.fromArch);
        return pkg;
      });
      const targets = request.targets ? pkg.targets.filter((t) => request.targets!.includes(t)) : pkg.targets;
      if (targets.length === 0) {
        throw new AgentError(
          'INVALID_INPUT',
          `None of the targets asked for is in the package (it has ${pkg.targets.join(' ')}).`,
        );
      }
      const version = tagVersionOf(pkg.version);
      build.version = version;
      const plan = planImages({ version, fromArch: pkg.fromArch, targets });
      build.order = [plan.full, plan.register, ...plan.emulators].flatMap((i) => i.tags);
      work = await mkdtemp(join(this.deps.workDir ?? tmpdir(), 'binfleet-build-'));
      const root = join(work, 'package');

      const qemuVersion = await this.step(build, 'extract', async (log) => {
        await this.packages.extract(pkg.path, root);
        const probe = await this.os.run(join(root, emulatorPath(targets[0]!)), ['--version'], 10_000);
        const found = parseQemuVersion(probe.stdout);
        log(
          `unpacked into ${root}; QEMU ${found ? found.version : `${pkg.upstreamVersion} (from the package version)`}`,
        );
        return found?.version ?? pkg.upstreamVersion;
      });
      build.package = packageFacts(pkg, qemuVersion);
      const labels = {
        [PROVENANCE_LABELS.buildId]: build.id,
        [PROVENANCE_LABELS.version]: version,
        [PROVENANCE_LABELS.packageName]: pkg.name,
        [PROVENANCE_LABELS.packageVersion]: pkg.version,
        [PROVENANCE_LABELS.packageArch]: pkg.architecture,
        [PROVENANCE_LABELS.packageSha256]: pkg.sha256,
        [PROVENANCE_LABELS.qemuVersion]: qemuVersion,
      };
      const buildOne = async (image: PlannedImage, context: TarEntry[], log: (line: string) => void) => {
        const refs = image.tags.map(reference);
        const started = performance.now();
        const { id } = await this.deps.docker.buildImage({
          context: tarStream(context),
          tags: refs,
          platform: plan.platform,
          labels,
          signal,
        });
        refs.forEach((r) => local.add(r));
        const facts = await this.deps.docker.inspectImage(id);
        for (const tag of image.tags) {
          build.tags.set(tag, {
            tag,
            reference: reference(tag),
            platform: plan.platform,
            imageId: id,
            ...(facts ? { size: facts.size } : {}),
          });
        }
        log(
          `built ${image.tags.join(', ')} (${id.slice(7, 19)}, ${Math.round(performance.now() - started)} ms)`,
        );
      };

      await this.step(build, 'build register images', async (log) => {
        const busybox = request.busybox ?? this.deps.busybox ?? '/bin/busybox';
        await buildOne(plan.register, registerContext(busybox), log);
        await buildOne(
          plan.full,
          [
            { type: 'file', name: 'Dockerfile', data: fullDockerfile(reference(plan.register.tags[0]!)) },
            { type: 'dir', name: 'usr/bin' },
            ...pkg.emulators.map((file) => ({
              type: 'file' as const,
              name: `usr/bin/${file}`,
              path: join(root, 'usr/bin', file),
            })),
          ],
          log,
        );
      });

      await this.step(build, 'build emulator images', async (log) => {
        await eachWithConcurrency(plan.emulators, 2, async (image) => {
          signal.throwIfAborted();
          const file = `qemu-${image.target}-static`;
          await buildOne(
            image,
            [
              { type: 'file', name: 'Dockerfile', data: emulatorDockerfile(image.target!) },
              { type: 'file', name: file, path: join(root, 'usr/bin', file) },
            ],
            log,
          );
        });
      });

      await this.step(build, 'test', async (log) => {
        if (request.skipChecks) {
          log('skipped: the request asked to push without the checks');
          return;
        }
        await this.check(build, pkg, plan, reference, log);
        const failed = build.checks.filter((c) => c.status === 'fail');
        if (failed.length > 0) {
          throw new AgentError(
            'DOCKER_FAILED',
            `${failed.length} check(s) failed: ${failed.map((c) => c.name).join(', ')}; nothing was pushed.`,
          );
        }
      });

      await this.step(build, 'push', async (log) => {
        const push = async (tag: string) => {
          const once = () =>
            this.deps.docker.pushImage({
              repository,
              tag,
              ...(request.auth ? { auth: request.auth } : {}),
              signal,
            });
          const pushed = await once().catch(async (error: unknown) => {
            if (!(error instanceof AgentError) || error.code !== 'DOCKER_FAILED' || signal.aborted)
              throw error;
            log(`retrying ${reference(tag)} once: ${error.message}`);
            await new Promise((resolve) => setTimeout(resolve, 1000));
            return once();
          });
          build.tags.set(tag, { ...build.tags.get(tag)!, digest: pushed.digest });
          log(`pushed ${reference(tag)} ${pushed.digest}`);
        };
        // Two pushes of one blob at once can make the registry answer 500 (distribution reads the blob
        // link while the other writes it), so no two images that share a layer go up together: the
        // register image (whose layers the full image reuses) first, then one tag after the other per
        // image, several images at a time; the full image's 400 MB layer starts first.
        for (const tag of plan.register.tags) await push(tag);
        await eachWithConcurrency([plan.full, ...plan.emulators], 3, async (image) => {
          for (const tag of image.tags) {
            signal.throwIfAborted();
            await push(tag);
          }
        });
      });
      outcome = 'succeeded';
    } catch (error) {
      outcome = signal.aborted ? 'cancelled' : 'failed';
      build.error = signal.aborted ? 'Cancelled.' : (error as Error).message;
    } finally {
      for (const s of build.steps) if (s.status === 'queued' && s.name !== 'clean up') s.status = 'cancelled';
      await this.step(build, 'clean up', async (log) => {
        if (request.keepImages) log(`kept ${local.size} image names in the local dockerd`);
        else {
          let removed = 0;
          for (const ref of local) if (await this.deps.docker.removeImage(ref)) removed++;
          log(`removed ${removed} image names from the local dockerd`);
        }
        if (work) await rm(work, { recursive: true, force: true });
      }).catch(() => undefined);
      // Only now: callers that poll the status take "not running" to mean nothing changes any more.
      build.status = outcome;
      build.finishedAt = new Date().toISOString();
      build.emit({ type: 'finished', report: build.report() });
    }
  }

  /** The seed's checks, with the machine's binfmt_misc saved before and put back after. */
  private async check(
    build: Build,
    pkg: QemuPackage,
    plan: ImagePlan,
    reference: (tag: string) => string,
    log: (line: string) => void,
  ): Promise<void> {
    if (this.deps.binfmtNamespaced) {
      throw new AgentError(
        'PERMISSION_DENIED',
        "This agent runs in a user namespace with its own binfmt_misc, but dockerd's containers register in the machine's: " +
          'run builds on an agent in the initial namespace (as root on the host), or skip the checks.',
      );
    }
    const to = pickCheckTarget(
      pkg.fromArch,
      plan.emulators.map((e) => e.target!),
    );
    if (!to) {
      build.checks.push({
        name: 'seed checks',
        status: 'skipped',
        detail: 'the package has no foreign target with a Docker platform to test with',
        durationMs: 0,
      });
      log('skipped: no foreign target with a Docker platform');
      return;
    }
    const emulatorImage = plan.emulators.find((e) => e.target === to)!;
    // The seed runs `:aarch64`; hosts other than the default one only have `:$from-$to`.
    const emulatorTag = emulatorImage.tags.includes(to) ? to : emulatorImage.tags[0]!;
    const platform = dockerPlatformOf(to)!;
    const testImage = this.testImage(build.request, to);
    const entry = `qemu-${to}`;
    const record = async (name: string, fn: () => Promise<Omit<BuildCheck, 'name' | 'durationMs'>>) => {
      build.controller.signal.throwIfAborted();
      const started = performance.now();
      let outcome: Omit<BuildCheck, 'name' | 'durationMs'>;
      try {
        outcome = await fn();
      } catch (error) {
        outcome = { status: 'fail', detail: (error as Error).message };
      }
      const check = { name, ...outcome, durationMs: Math.round(performance.now() - started) };
      build.checks.push(check);
      log(`${check.status.toUpperCase()} ${name}: ${check.detail} (${check.durationMs} ms)`);
      return check;
    };
    const run = (image: string, cmd: string[], extra: Partial<RunOnceOptions> = {}) =>
      this.deps.docker.runOnce({ image, cmd, timeoutMs: this.containerTimeoutMs, ...extra });
    const flagsOf = async () => {
      const text = await this.deps.machineBinfmt.read(entry);
      return text === undefined ? undefined : parseEntryFile(entry, text).flags;
    };
    // The seed's `docker run --privileged`. Where dockerd cannot grant every capability (a host whose
    // own bounding set lacks some, as in some VMs and nested containers) the entrypoint runs with what
    // it needs instead: CAP_SYS_ADMIN to mount binfmt_misc, no AppArmor profile that forbids mounts.
    let privileges: 'privileged' | 'binfmt' = 'privileged';
    const runPrivileged = async (image: string, args: string[]) => {
      if (privileges === 'privileged') {
        try {
          return { result: await run(image, args, { privileged: true }), note: '' };
        } catch (error) {
          if (!(error instanceof AgentError) || error.code !== 'DOCKER_FAILED') throw error;
          log(
            `--privileged refused here (${error.message}); running with CAP_SYS_ADMIN and apparmor=unconfined instead`,
          );
          privileges = 'binfmt';
        }
      }
      const result = await run(image, args, { capAdd: ['SYS_ADMIN'], securityOpt: ['apparmor=unconfined'] });
      return { result, note: ' (with CAP_SYS_ADMIN: this dockerd cannot apply --privileged)' };
    };
    const expectFlags = async (image: string, args: string[], want: string) => {
      const { result, note } = await runPrivileged(image, args);
      if (result.exitCode !== 0) {
        return {
          status: 'fail' as const,
          detail: `${image} ${args.join(' ')}${note} exited with ${result.exitCode ?? 'a timeout'}: ${result.stderr.trim().slice(0, 300)}`,
        };
      }
      const flags = await flagsOf();
      const where = `${this.deps.machineBinfmt.mountPoint}/${entry}`;
      if (flags === undefined)
        return { status: 'fail' as const, detail: `${where} is missing after ${image} ${args.join(' ')}` };
      return {
        status: flags === want ? ('pass' as const) : ('fail' as const),
        output: `flags: ${flags}`,
        detail: `${where} has "flags: ${flags}"${flags === want ? '' : `, expected "flags: ${want}"`} after ${args.join(' ')}${note}`,
      };
    };
    const uname = async (image: string, what: string) => {
      const result = await run(image, ['uname', '-m'], { platform });
      return judgeUname(to, result, what, this.containerTimeoutMs);
    };

    await record(`:${emulatorTag} runs qemu-${to}-static --version`, async () => {
      const result = await run(reference(emulatorTag), [emulatorPath(to), '--version']);
      const version = parseQemuVersion(result.stdout);
      return version
        ? { status: 'pass', output: result.stdout.split('\n')[0]!, detail: `QEMU ${version.version}` }
        : {
            status: 'fail',
            detail: `no QEMU version in its output (exit ${result.exitCode}): ${(result.stdout + result.stderr).trim().slice(0, 300)}`,
          };
    });

    await this.deps.lock.run(
      `build ${build.id} checks`,
      async () => {
        const snapshot = await takeBinfmtSnapshot(this.deps.machineBinfmt);
        log(
          `saved ${this.deps.machineBinfmt.mountPoint}: ${snapshot.mounted ? `${snapshot.entries.size} entries` : 'not mounted'}`,
        );
        try {
          // Entries live as long as some binfmt_misc mount does: keep one while the checks look.
          await this.deps.machineBinfmt.mount();
          await record(`:${plan.version} --reset -p yes registers ${entry} with F`, () =>
            expectFlags(reference(plan.version), ['--reset', '-p', 'yes'], 'F'),
          );
          await record(`a ${platform} container prints its uname -m`, () =>
            uname(testImage, `uname -m in ${testImage} (${platform})`),
          );
          await record(`:register --reset registers ${entry} without flags`, () =>
            expectFlags(reference('register'), ['--reset'], ''),
          );
          await record(`the integration image (${testImage} with qemu-${to}-static) runs`, async () => {
            const name = `binfleet-build/integration:${build.id
              .toLowerCase()
              .replace(/[^a-z0-9_.-]/g, '-')
              .slice(0, 100)}`;
            await this.deps.docker.buildImage({
              context: tarStream([
                {
                  type: 'file',
                  name: 'Dockerfile',
                  data: integrationDockerfile({
                    emulatorImage: reference(emulatorImage.tags[0]!),
                    emulatorPlatform: plan.platform,
                    foreignImage: testImage,
                    target: to,
                  }),
                },
              ]),
              tags: [name],
              platform,
              signal: build.controller.signal,
            });
            try {
              return await uname(name, `uname -m in ${testImage} with ${emulatorPath(to)} copied in`);
            } finally {
              await this.deps.docker.removeImage(name);
            }
          });
        } finally {
          const restored = await restoreBinfmtSnapshot(this.deps.machineBinfmt, snapshot);
          log(
            `restored ${this.deps.machineBinfmt.mountPoint}: ${restored.length ? restored.join(', ') : 'nothing to do'}`,
          );
        }
      },
      { waitMs: this.deps.lockWaitMs },
    );
  }

  private testImage(request: BuildRequest, target: TargetId): string {
    if (request.testImage) return request.testImage;
    const found = imageForTarget(this.deps.testImageTemplate, target);
    if ('image' in found) return found.image;
    throw new AgentError(
      'INVALID_INPUT',
      `No test image for ${target}: ${found.missing}; name one in the request.`,
    );
  }

  /** Runs one step: marks it running, collects its log, times it, and marks how it ended. */
  private async step<T>(
    build: Build,
    name: BuildStepName,
    fn: (log: (line: string) => void) => Promise<T>,
  ): Promise<T> {
    const step = build.steps.find((s) => s.name === name)!;
    if (name !== 'clean up') build.controller.signal.throwIfAborted();
    const started = performance.now();
    step.status = 'running';
    step.startedAt = new Date().toISOString();
    build.emit({ type: 'step', buildId: build.id, step: { ...step } });
    build.log += `==> ${name}\n`;
    const log = (line: string) => {
      step.log = (step.log + line + '\n').slice(-STEP_LOG_LIMIT);
      build.log += line + '\n';
      build.emit({ type: 'log', buildId: build.id, step: name, line });
    };
    try {
      const result = await fn(log);
      step.status = 'succeeded';
      return result;
    } catch (error) {
      step.status = build.controller.signal.aborted ? 'cancelled' : 'failed';
      log(`${step.status === 'cancelled' ? 'cancelled' : 'error'}: ${(error as Error).message}`);
      throw error;
    } finally {
      step.finishedAt = new Date().toISOString();
      step.durationMs = Math.round(performance.now() - started);
      build.emit({ type: 'step', buildId: build.id, step: { ...step } });
    }
  }
}

/**
 * Runs `fn` on every item, at most `limit` at once. After a failure no new item starts, and it
 * rejects only once the running ones have ended: nothing may still build while clean-up removes images.
 */
async function eachWithConcurrency<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
}

function packageFacts(pkg: QemuPackage, qemuVersion: string): BuildPackageFacts {
  return {
    name: pkg.name,
    version: pkg.version,
    architecture: pkg.architecture,
    fromArch: pkg.fromArch,
    upstreamVersion: pkg.upstreamVersion,
    qemuVersion,
    sha256: pkg.sha256,
    size: pkg.size,
    emulators: pkg.emulators,
    targets: pkg.targets,
  };
}
