import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  hostArchOf,
  matchTargets,
  platformString,
  tagVersionOf,
  validateTagVersion,
  type TargetId,
} from '@binfleet/arch-table';
import { eachWithConcurrency } from '@binfleet/concurrency';
import { emulatorPath, type QemuPackage } from '@binfleet/deb';
import type { EmulationSandboxes } from '../adapters/emulation-sandbox.ts';
import type { HostOs } from '../adapters/host-os.ts';
import type { PackageReader } from '../adapters/package-reader.ts';
import type { RegistryClient, RegistryTarget } from '../adapters/registry-client.ts';
import { AgentError } from '../errors.ts';
import { parseQemuVersion } from '../host/qemu-version.ts';
import { hostOfPackage, planBuild, refuseTwins, type HostBuild } from './build-plan.ts';
import type { Build } from './build-record.ts';
import type { BuildPackageFacts, BuildStatus } from './build-report.ts';
import { matchBusyboxes } from './busybox-inputs.ts';
import { runEmulatedChecks } from './emulated-checks.ts';
import {
  assembleHost,
  assembleTags,
  writeRegisterLayer,
  type AssembledHost,
  type AssembledTag,
} from './image-assembly.ts';
import { BlobDirectory, dockerArchive } from './oci-image.ts';
import { runSeedChecks, type SeedCheckDeps } from './seed-checks.ts';
import { tarStream } from './tar-stream.ts';

/** What the steps use: the service's dependencies with its defaults filled in. */
export interface PipelineDeps extends SeedCheckDeps {
  /** `uname -m` or HOST_ARCH of this builder. */
  readonly hostArch: string;
  /** Static busybox for register images when a request names none (Debian busybox-static: /bin/busybox). */
  readonly busybox?: string;
  /** This builder's own emulators, which run foreign hosts' images in the emulated checks. */
  readonly emulatorDir?: string;
  readonly os: HostOs;
  readonly packages: PackageReader;
  readonly registry: RegistryClient;
  readonly sandboxes: EmulationSandboxes;
  readonly workDir?: string;
}

/**
 * Runs a build's steps in order: read the packages (one per host architecture) and busyboxes, unpack
 * them, assemble every host's images as files, test them (the native host's through dockerd, the
 * others' under emulation), push blobs, manifests and indexes through the registry API. Whatever
 * happened, clean up removes the work directory and what the checks loaded, and only then does the
 * build end.
 */
export async function runPipeline(build: Build, deps: PipelineDeps): Promise<void> {
  build.status = 'running';
  build.startedAt = new Date().toISOString();
  const { request } = build;
  const signal = build.controller.signal;
  const repository = `${request.registry}/${request.repository}`;
  const reference = (tag: string) => `${repository}:${tag}`;
  const builderCpu = hostArchOf(deps.hostArch).cpu;
  const loaded: string[] = [];
  let work: string | undefined;
  let outcome: BuildStatus = 'failed';
  try {
    work = await mkdtemp(join(deps.workDir ?? tmpdir(), 'binfleet-build-'));
    const workDir = work;
    const read = await build.step('read package', async (log) => {
      const packages: QemuPackage[] = [];
      for (const file of request.packageFiles) {
        const pkg = await deps.packages.read(file.path);
        if (file.sha256 !== undefined && pkg.sha256 !== file.sha256) {
          throw new AgentError(
            'INVALID_PACKAGE',
            `The stored package ${file.sha256} now hashes to ${pkg.sha256}: it changed on disk; upload it again.`,
          );
        }
        log(`${pkg.name} ${pkg.version} (${pkg.architecture}), sha256 ${pkg.sha256}, ${pkg.size} bytes`);
        packages.push(pkg);
      }
      const hosts = packages.map((pkg) => ({ pkg, host: hostOfPackage(pkg) }));
      refuseTwins(hosts);
      const busyboxes = await matchBusyboxes(
        deps,
        hosts.map((h) => h.host),
        request.busyboxes ?? (request.busybox ? [request.busybox] : []),
        join(workDir, 'busybox'),
      );
      for (const h of hosts) log(`${h.host.debian}: busybox ${busyboxes.get(h.host.debian)}`);
      return { hosts, busyboxes };
    });

    const hosts = await build.step('extract', async (log) => {
      const done: HostBuild[] = [];
      for (const { pkg, host } of read.hosts) {
        const root = join(workDir, 'packages', host.debian);
        await mkdir(root, { recursive: true });
        await deps.packages.extract(pkg.path, root);
        const sample = join(root, emulatorPath(pkg.targets[0]!));
        const machines = matchTargets((await deps.os.readHead(sample, 64)) ?? new Uint8Array());
        if (!machines.includes(host.cpu)) {
          throw new AgentError(
            'INVALID_PACKAGE',
            `${pkg.path} says Architecture: ${pkg.architecture}, but its emulators are ${machines.join('/') || 'no'} ELF executables, not ${host.cpu}: ` +
              'give the qemu-user-static package built for that architecture (apt-get download qemu-user-static:ARCH).',
          );
        }
        const targets = request.targets
          ? pkg.targets.filter((t) => request.targets!.includes(t))
          : pkg.targets;
        if (targets.length === 0) {
          throw new AgentError(
            'INVALID_INPUT',
            `None of the targets asked for is in ${pkg.path} (it has ${pkg.targets.join(' ')}).`,
          );
        }
        let qemuVersion = pkg.upstreamVersion;
        if (host.cpu === builderCpu) {
          const probe = await deps.os.run(sample, ['--version'], 10_000);
          qemuVersion = parseQemuVersion(probe.stdout)?.version ?? qemuVersion;
        }
        log(`${host.debian}: unpacked into ${root}; QEMU ${qemuVersion}; ${targets.length} emulator images`);
        done.push({ host, pkg, busybox: read.busyboxes.get(host.debian)!, targets, root, qemuVersion });
      }
      return done;
    });
    const version =
      request.version !== undefined
        ? validateTagVersion(request.version)
        : versionOf(read.hosts.map((h) => h.pkg));
    const plan = planBuild(version, hosts);
    build.version = version;
    build.packages = plan.hosts.map(packageFacts);
    build.order = plan.tags.map((t) => t.tag.tag);
    const facts = { buildId: build.id, version, created: build.startedAt };
    const blobs = new BlobDirectory(join(workDir, 'blobs'));

    const registerLayers = await build.step('build register images', async (log) => {
      const layers = new Map<string, Awaited<ReturnType<typeof writeRegisterLayer>>>();
      for (const h of plan.hosts) {
        const layer = await writeRegisterLayer(blobs, h, signal);
        layers.set(h.host.debian, layer);
        log(`${h.host.debian}: register layer ${layer.digest.slice(7, 19)} (${layer.size} bytes)`);
      }
      return layers;
    });

    const { assembled, tags } = await build.step('build emulator images', async (log) => {
      const assembled: AssembledHost[] = [];
      for (const h of plan.hosts) {
        assembled.push(await assembleHost(blobs, h, registerLayers.get(h.host.debian)!, facts, signal, log));
      }
      const tags = assembleTags(plan, assembled, facts);
      for (const t of tags) recordTag(build, reference, assembled, t);
      log(`${tags.length} tags: ${tags.filter((t) => t.plan.form === 'index').length} indexes`);
      return { assembled, tags };
    });

    await build.step('test', async (log) => {
      if (request.skipChecks) {
        log('skipped: the request asked to push without the checks');
        return;
      }
      for (const host of assembled) {
        if (host.build.host.cpu === builderCpu) {
          const names = await loadNative(deps, host, reference, version, signal);
          loaded.push(...names.all);
          log(`${host.build.host.debian}: loaded into dockerd as ${names.all.join(', ')}`);
          await runSeedChecks(deps, build, host, names, log);
        } else {
          await runEmulatedChecks(
            deps,
            host,
            await runnerFor(deps, assembled, host, builderCpu),
            workDir,
            (name, fn) => build.check(name, fn, log),
          );
        }
      }
      const failed = build.checks.filter((c) => c.status === 'fail');
      if (failed.length > 0) {
        throw new AgentError(
          'DOCKER_FAILED',
          `${failed.length} check(s) failed: ${failed.map((c) => c.name).join(', ')}; nothing was pushed.`,
        );
      }
    });

    await build.step('push', async (log) => {
      const target: RegistryTarget = {
        registry: request.registry,
        repository: request.repository,
        ...(request.auth ? { auth: request.auth } : {}),
        ...(request.insecure ? { insecure: true } : {}),
      };
      const unique = new Map(
        assembled
          .flatMap((h) => [h.register, h.full, ...h.emulators.values()])
          .flatMap((image) => [image.config, ...image.layers])
          .map((blob) => [blob.digest, blob]),
      );
      let sent = 0;
      await eachWithConcurrency([...unique.values()], 3, async (blob) => {
        signal.throwIfAborted();
        if (await deps.registry.pushBlob(target, blob)) sent++;
      });
      log(`blobs: ${sent} uploaded, ${unique.size - sent} already there`);
      const manifests = new Map(
        assembled
          .flatMap((h) => [h.register, h.full, ...h.emulators.values()])
          .map((image) => [image.manifest.digest, image.manifest]),
      );
      await eachWithConcurrency([...manifests.values()], 3, async (manifest) => {
        signal.throwIfAborted();
        await deps.registry.pushManifest(target, manifest.digest, manifest);
      });
      log(`manifests: ${manifests.size} by digest`);
      // Indexes first, all of them: a registry that refuses them fails the push before any tag moved.
      // Only then the single-platform tags: tagging a manifest rewrites its revision link, and a
      // registry on the filesystem driver (truncate, then write) reads that link empty if an index
      // naming the manifest is verified at the same moment, and refuses the index (DIGEST_INVALID).
      for (const form of ['index', 'single'] as const) {
        await eachWithConcurrency(
          tags.filter((t) => t.plan.form === form),
          3,
          async (tag) => {
            signal.throwIfAborted();
            const pushed = await deps.registry.pushManifest(target, tag.plan.tag.tag, tag.document);
            build.tags.set(tag.plan.tag.tag, { ...build.tags.get(tag.plan.tag.tag)!, digest: pushed.digest });
            log(`pushed ${reference(tag.plan.tag.tag)} ${pushed.digest}`);
          },
        );
      }
    });
    outcome = 'succeeded';
  } catch (error) {
    outcome = signal.aborted ? 'cancelled' : 'failed';
    build.error = signal.aborted ? 'Cancelled.' : (error as Error).message;
  } finally {
    for (const s of build.steps) if (s.status === 'queued' && s.name !== 'clean up') s.status = 'cancelled';
    await build
      .step('clean up', async (log) => {
        if (request.keepImages) log(`kept ${loaded.length} image names in the local dockerd`);
        else {
          let removed = 0;
          for (const ref of loaded) if (await deps.docker.removeImage(ref)) removed++;
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

function recordTag(
  build: Build,
  reference: (tag: string) => string,
  hosts: readonly AssembledHost[],
  { plan, document }: AssembledTag,
): void {
  const platforms = plan.images.map((ref) =>
    platformString(hosts.find((h) => h.build.host.debian === ref.host)!.build.host.platform),
  );
  const single = plan.form === 'single' ? imageOfSingle(hosts, plan) : undefined;
  build.tags.set(plan.tag.tag, {
    tag: plan.tag.tag,
    reference: reference(plan.tag.tag),
    platform: platforms.join(','),
    imageId: single ? single.config.digest : document.digest,
    ...(single ? { size: single.layers.reduce((sum, l) => sum + l.size, 0) } : {}),
    form: plan.form,
  });
}

function imageOfSingle(hosts: readonly AssembledHost[], plan: AssembledTag['plan']) {
  const ref = plan.images[0]!;
  const host = hosts.find((h) => h.build.host.debian === ref.host)!;
  return ref.image === 'emulator' ? host.emulators.get(ref.target)! : host[ref.image];
}

/** Loads the native host's images into dockerd under the names the seed's checks run. */
async function loadNative(
  deps: PipelineDeps,
  host: AssembledHost,
  reference: (tag: string) => string,
  version: string,
  signal: AbortSignal,
) {
  const cpu = host.build.host.cpu;
  const emulator = (target: TargetId) => reference(`${cpu}-${target}-${version}`);
  const images = [
    { image: host.full, names: [reference(version)] },
    { image: host.register, names: [reference('register')] },
    ...[...host.emulators].map(([target, image]) => ({ image, names: [emulator(target)] })),
  ];
  await deps.docker.loadImage(tarStream(dockerArchive(images)), signal);
  return {
    full: reference(version),
    register: reference('register'),
    emulator,
    all: images.flatMap((i) => i.names),
  };
}

/**
 * This builder's emulator for a foreign host's cpu: from the build's own package for this builder's
 * architecture when there is one (the very emulators being released), else the builder's installed one.
 */
async function runnerFor(
  deps: PipelineDeps,
  hosts: readonly AssembledHost[],
  host: AssembledHost,
  builderCpu: TargetId,
): Promise<string> {
  const file = `qemu-${host.build.host.cpu}-static`;
  const native = hosts.find((h) => h.build.host.cpu === builderCpu);
  const path = native ? join(native.build.root, 'usr/bin', file) : join(deps.emulatorDir ?? '/usr/bin', file);
  if (!(await deps.os.fileFacts(path))?.isFile) {
    throw new AgentError(
      'INTERPRETER_MISSING',
      `No ${path} on this builder to run the ${host.build.host.debian} images under emulation: install qemu-user-static, ` +
        "add this builder's own package to the build, or skip the checks.",
    );
  }
  return path;
}

/** The packages' one tag version; packages of different versions need the version given. */
function versionOf(packages: readonly QemuPackage[]): string {
  const versions = [...new Set(packages.map((p) => tagVersionOf(p.version)))];
  if (versions.length > 1) {
    throw new AgentError(
      'INVALID_INPUT',
      `The packages are of different versions (${versions.join(', ')}): give the tag version (--version) the build is released as.`,
    );
  }
  return versions[0]!;
}

function packageFacts(h: HostBuild): BuildPackageFacts {
  const { path: _path, ...pkg } = h.pkg;
  return { ...pkg, qemuVersion: h.qemuVersion };
}
