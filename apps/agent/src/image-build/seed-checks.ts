import { dockerPlatformOf, parseEntryFile, platformString, type TargetId } from '@binfleet/arch-table';
import type { BinfmtFs } from '../adapters/binfmt-fs.ts';
import { emulatorPath } from '@binfleet/deb';
import { tarStream } from './tar-stream.ts';
import type { DockerClient, ImageClient, RunOnceOptions } from '../adapters/docker-client.ts';
import { AgentError } from '../errors.ts';
import { parseQemuVersion } from '../host/qemu-version.ts';
import { restoreBinfmtSnapshot, takeBinfmtSnapshot } from '../services/binfmt-snapshot.ts';
import { judgeUname } from '../services/machine-check.ts';
import type { OperationLock } from '../services/operation-lock.ts';
import { imageForTarget } from '../services/verify-image.ts';
import type { Build } from './build-record.ts';
import type { BuildCheck, BuildRequest } from './build-report.ts';
import { integrationDockerfile, pickCheckTarget } from './build-plan.ts';
import type { AssembledHost } from './image-assembly.ts';

/** What the seed's checks use of the build service's dependencies. */
export interface SeedCheckDeps {
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
  /** Image per target for the container checks ({official}, {debian}, {target}), as verify uses. */
  readonly testImageTemplate: string;
  readonly containerTimeoutMs: number;
}

/** The native host's images as loaded into dockerd for the checks, by local name. */
export interface LoadedImages {
  readonly full: string;
  readonly register: string;
  readonly emulator: (target: TargetId) => string;
}

/**
 * The seed's checks of the images of the host this builder is, through dockerd, with the machine's
 * binfmt_misc saved before and put back after.
 */
export async function runSeedChecks(
  deps: SeedCheckDeps,
  build: Build,
  native: AssembledHost,
  images: LoadedImages,
  log: (line: string) => void,
): Promise<void> {
  const pkg = native.build.pkg;
  if (deps.binfmtNamespaced) {
    throw new AgentError(
      'PERMISSION_DENIED',
      "This agent runs in a user namespace with its own binfmt_misc, but dockerd's containers register in the machine's: " +
        'run builds on an agent in the initial namespace (as root on the host), or skip the checks.',
    );
  }
  const to = pickCheckTarget(pkg.fromArch, [...native.emulators.keys()]);
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
  const emulatorImage = images.emulator(to);
  const platform = dockerPlatformOf(to)!;
  const testImage = testImageFor(deps.testImageTemplate, build.request, to);
  const entry = `qemu-${to}`;
  const record = (name: string, fn: () => Promise<Omit<BuildCheck, 'name' | 'durationMs'>>) =>
    build.check(name, fn, log);
  const run = (image: string, cmd: string[], extra: Partial<RunOnceOptions> = {}) =>
    deps.docker.runOnce({ image, cmd, timeoutMs: deps.containerTimeoutMs, ...extra });
  const flagsOf = async () => {
    const text = await deps.machineBinfmt.read(entry);
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
    const where = `${deps.machineBinfmt.mountPoint}/${entry}`;
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
    return judgeUname(to, result, what, deps.containerTimeoutMs);
  };

  await record(`${short(emulatorImage)} runs qemu-${to}-static --version`, async () => {
    const result = await run(emulatorImage, [emulatorPath(to), '--version']);
    const version = parseQemuVersion(result.stdout);
    return version
      ? { status: 'pass', output: result.stdout.split('\n')[0]!, detail: `QEMU ${version.version}` }
      : {
          status: 'fail',
          detail: `no QEMU version in its output (exit ${result.exitCode}): ${(result.stdout + result.stderr).trim().slice(0, 300)}`,
        };
  });

  await deps.lock.run(
    `build ${build.id} checks`,
    async () => {
      const snapshot = await takeBinfmtSnapshot(deps.machineBinfmt);
      log(
        `saved ${deps.machineBinfmt.mountPoint}: ${snapshot.mounted ? `${snapshot.entries.size} entries` : 'not mounted'}`,
      );
      try {
        // Entries live as long as some binfmt_misc mount does: keep one while the checks look.
        await deps.machineBinfmt.mount();
        await record(`${short(images.full)} --reset -p yes registers ${entry} with F`, () =>
          expectFlags(images.full, ['--reset', '-p', 'yes'], 'F'),
        );
        await record(`a ${platform} container prints its uname -m`, () =>
          uname(testImage, `uname -m in ${testImage} (${platform})`),
        );
        await record(`${short(images.register)} --reset registers ${entry} without flags`, () =>
          expectFlags(images.register, ['--reset'], ''),
        );
        await record(`the integration image (${testImage} with qemu-${to}-static) runs`, async () => {
          const name = `binfleet-build/integration:${build.id
            .toLowerCase()
            .replace(/[^a-z0-9_.-]/g, '-')
            .slice(0, 100)}`;
          await deps.docker.buildImage({
            context: tarStream([
              {
                type: 'file',
                name: 'Dockerfile',
                data: integrationDockerfile({
                  emulatorImage,
                  emulatorPlatform: platformString(native.build.host.platform),
                  foreignImage: testImage,
                  target: to,
                }),
              },
            ]),
            tags: [name],
            from: [emulatorImage, testImage],
            platform,
            signal: build.controller.signal,
          });
          try {
            return await uname(name, `uname -m in ${testImage} with ${emulatorPath(to)} copied in`);
          } finally {
            await deps.docker.removeImage(name);
          }
        });
      } finally {
        const restored = await restoreBinfmtSnapshot(deps.machineBinfmt, snapshot);
        log(
          `restored ${deps.machineBinfmt.mountPoint}: ${restored.length ? restored.join(', ') : 'nothing to do'}`,
        );
      }
    },
    { waitMs: deps.lockWaitMs },
  );
}

/** `:tag` of `registry/repository:tag`, as the seed's checks are named. */
const short = (reference: string) => reference.slice(reference.lastIndexOf(':'));

function testImageFor(template: string, request: BuildRequest, target: TargetId): string {
  if (request.testImage) return request.testImage;
  const found = imageForTarget(template, target);
  if ('image' in found) return found.image;
  throw new AgentError(
    'INVALID_INPUT',
    `No test image for ${target}: ${found.missing}; name one in the request.`,
  );
}
