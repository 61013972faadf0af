import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { hostArchOf, PROVENANCE_LABELS, tagVersionOf } from '@binfleet/arch-table';
import { eachWithConcurrency } from '@binfleet/concurrency';
import { emulatorPath, type QemuPackage } from '@binfleet/deb';
import { tarStream, type TarEntry } from './tar-stream.ts';
import { AgentError } from '../errors.ts';
import type { HostOs } from '../adapters/host-os.ts';
import { parseQemuVersion } from '../host/qemu-version.ts';
import type { Build } from './build-record.ts';
import type { BuildPackageFacts, BuildStatus } from './build-report.ts';
import { emulatorDockerfile, fullDockerfile, planImages, type PlannedImage } from './build-plan.ts';
import type { PackageReader } from '../adapters/package-reader.ts';
import { checkBusybox, registerContext } from './register-context.ts';
import { runSeedChecks, type SeedCheckDeps } from './seed-checks.ts';

/** What the steps use: the service's dependencies with its defaults filled in. */
export interface PipelineDeps extends SeedCheckDeps {
  /** `uname -m` or HOST_ARCH of this builder. */
  readonly hostArch: string;
  /** Static busybox for register images when a request names none (Debian busybox-static: /bin/busybox). */
  readonly busybox?: string;
  readonly os: HostOs;
  readonly packages: PackageReader;
  readonly workDir?: string;
}

/**
 * Runs a build's steps in order: read the package, extract it, build the register, full and
 * emulator images, test them with the seed's checks, push them. Whatever happened, clean up removes
 * the images and work directory, and only then does the build end.
 */
export async function runPipeline(build: Build, deps: PipelineDeps): Promise<void> {
  build.status = 'running';
  build.startedAt = new Date().toISOString();
  const { request } = build;
  const signal = build.controller.signal;
  const repository = `${request.registry}/${request.repository}`;
  const reference = (tag: string) => `${repository}:${tag}`;
  const busybox = request.busybox ?? deps.busybox ?? '/bin/busybox';
  const local = new Set<string>();
  let work: string | undefined;
  let outcome: BuildStatus = 'failed';
  try {
    const pkg = await build.step('read package', async (log) => {
      const pkg = await deps.packages.read(request.packagePath);
      if (request.packageSha256 !== undefined && pkg.sha256 !== request.packageSha256) {
        throw new AgentError(
          'INVALID_PACKAGE',
          `The stored package ${request.packageSha256} now hashes to ${pkg.sha256}: it changed on disk; upload it again.`,
        );
      }
      log(`${pkg.name} ${pkg.version} (${pkg.architecture}), sha256 ${pkg.sha256}, ${pkg.size} bytes`);
      log(`emulators: ${pkg.emulators.join(' ')}`);
      const builder = hostArchOf(deps.hostArch).cpu;
      if (pkg.fromArch !== builder && !request.skipChecks) {
        throw new AgentError(
          'INVALID_INPUT',
          `The package is for ${pkg.fromArch} but this builder is ${builder}: its images cannot be tested here. ` +
            `Build on a ${pkg.fromArch} builder, or skip the checks.`,
        );
      }
      checkBusybox(busybox, await deps.os.readHead(busybox, 64 * 1024), pkg.fromArch);
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
    work = await mkdtemp(join(deps.workDir ?? tmpdir(), 'binfleet-build-'));
    const root = join(work, 'package');

    const qemuVersion = await build.step('extract', async (log) => {
      await deps.packages.extract(pkg.path, root);
      const probe = await deps.os.run(join(root, emulatorPath(targets[0]!)), ['--version'], 10_000);
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
      const { id } = await deps.docker.buildImage({
        context: tarStream(context),
        tags: refs,
        platform: plan.platform,
        labels,
        signal,
      });
      refs.forEach((r) => local.add(r));
      const facts = await deps.docker.inspectImage(id);
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

    await build.step('build register images', async (log) => {
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

    await build.step('build emulator images', async (log) => {
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

    await build.step('test', async (log) => {
      if (request.skipChecks) {
        log('skipped: the request asked to push without the checks');
        return;
      }
      await runSeedChecks(deps, build, pkg, plan, reference, log);
      const failed = build.checks.filter((c) => c.status === 'fail');
      if (failed.length > 0) {
        throw new AgentError(
          'DOCKER_FAILED',
          `${failed.length} check(s) failed: ${failed.map((c) => c.name).join(', ')}; nothing was pushed.`,
        );
      }
    });

    await build.step('push', async (log) => {
      const push = async (tag: string) => {
        const once = () =>
          deps.docker.pushImage({
            repository,
            tag,
            ...(request.auth ? { auth: request.auth } : {}),
            signal,
          });
        const pushed = await once().catch(async (error: unknown) => {
          if (!(error instanceof AgentError) || error.code !== 'DOCKER_FAILED' || signal.aborted) throw error;
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
    await build
      .step('clean up', async (log) => {
        if (request.keepImages) log(`kept ${local.size} image names in the local dockerd`);
        else {
          let removed = 0;
          for (const ref of local) if (await deps.docker.removeImage(ref)) removed++;
          log(`removed ${removed} image names from the local dockerd`);
        }
        if (work) await rm(work, { recursive: true, force: true });
      })
      .catch(() => undefined);
    // Only now: callers that poll the status take "not running" to mean nothing changes any more.
    build.status = outcome;
    build.finishedAt = new Date().toISOString();
    build.emit({ type: 'finished', report: build.report() });
  }
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
