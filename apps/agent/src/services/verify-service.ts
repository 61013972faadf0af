import {
  VERIFY_METHODS,
  type VerifyCheck,
  type VerifyMethod,
  type VerifyReport,
} from '@binfleet/agent-contract';
import { dockerPlatformOf, TARGET_IDS, type KernelEntry, type TargetId } from '@binfleet/arch-table';
import type { DockerClient, DockerInfo } from '../adapters/docker-client.ts';
import { AgentError } from '../errors.ts';
import type { HostOs } from '../adapters/host-os.ts';
import { judgeUname } from './machine-check.ts';
import { findProbeBinary } from './probe-binary.ts';
import { entryNameOf } from './registration-plan.ts';
import type { BinfmtStatus, RegistrationService } from './registration-service.ts';
import { imageForTarget, validateImageTemplate } from './verify-image.ts';

export interface VerifyOptions {
  /** Default: every qemu-<target> entry registered now. */
  readonly targets?: readonly TargetId[];
  /** Default: both. */
  readonly methods?: readonly VerifyMethod[];
}

export interface VerifyServiceDeps {
  /** Only its view of the kernel's entries is needed. */
  readonly registration: Pick<RegistrationService, 'status'>;
  readonly docker: DockerClient;
  /** Folder with `<debian-arch>/busybox` or `<target>/busybox` static binaries; no probe checks without it. */
  readonly probeDir?: string;
  /** Image per target with {official}, {debian}, {target} placeholders, e.g. {official}/busybox. */
  readonly imageTemplate: string;
  readonly os: HostOs;
  readonly probeTimeoutMs?: number;
  readonly containerTimeoutMs?: number;
}

type Outcome = Omit<VerifyCheck, 'target' | 'method' | 'durationMs'>;

/**
 * The emulator self-test: runs a real binary of each target through the kernel's binfmt_misc
 * (probe: spawned directly from this process, so it uses this process's binfmt_misc) and in a
 * container of that platform (container: dockerd's, which is always the machine's own).
 */
export class VerifyService {
  private readonly imageTemplate: string;
  private readonly probeTimeoutMs: number;
  private readonly containerTimeoutMs: number;

  constructor(private readonly deps: VerifyServiceDeps) {
    this.imageTemplate = validateImageTemplate(deps.imageTemplate);
    this.probeTimeoutMs = deps.probeTimeoutMs ?? 10_000;
    this.containerTimeoutMs = deps.containerTimeoutMs ?? 60_000;
  }

  async verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    const startedAt = new Date().toISOString();
    const methods = options.methods ?? VERIFY_METHODS;
    const status = await this.deps.registration.status();
    if (!status.mounted) {
      throw new AgentError(
        'NOT_MOUNTED',
        `binfmt_misc is not mounted at ${status.mountPoint}, so nothing can be verified: run \`binfleet-agent register\` (it mounts it).`,
      );
    }
    const entries = new Map(status.entries.flatMap((e) => (e.target ? [[e.target, e.entry] as const] : [])));
    const targets = options.targets ?? TARGET_IDS.filter((id) => entries.has(id));
    // Asked once per run, and only when a container check gets that far.
    let docker: Promise<DockerInfo> | undefined;
    const dockerInfo = () => (docker ??= this.deps.docker.info());
    const checks: VerifyCheck[] = [];
    for (const target of targets) {
      for (const method of methods) {
        checks.push(
          await timed(target, method, () =>
            this.check(method, target, status, entries.get(target), dockerInfo),
          ),
        );
      }
    }
    return {
      startedAt,
      checks,
      passed: checks.some((c) => c.status === 'pass') && !checks.some((c) => c.status === 'fail'),
    };
  }

  private async check(
    method: VerifyMethod,
    target: TargetId,
    status: BinfmtStatus,
    entry: KernelEntry | undefined,
    dockerInfo: () => Promise<DockerInfo>,
  ): Promise<Outcome> {
    // The kernel would not hand the target's binaries to QEMU, whatever the method.
    const name = entryNameOf(target);
    if (!status.enabled) {
      const file = `${status.mountPoint}/status`;
      return { status: 'fail', detail: `binfmt_misc is switched off at ${file}: echo 1 > ${file}.` };
    }
    if (entry === undefined) {
      return { status: 'fail', detail: `${name} is not registered: register it (binfleet-agent register).` };
    }
    if (!entry.enabled) {
      return { status: 'fail', detail: `${name} is disabled: enable it (binfleet-agent enable ${target}).` };
    }
    return method === 'probe' ? this.probe(target) : this.container(target, entry, await dockerInfo());
  }

  private async probe(target: TargetId): Promise<Outcome> {
    if (this.deps.probeDir === undefined) {
      return {
        status: 'skipped',
        detail: 'no probe directory: set --probe-dir to a folder with <debian-arch>/busybox.',
      };
    }
    const found = await findProbeBinary(this.deps.os, this.deps.probeDir, target);
    if ('reason' in found) return { status: 'skipped', detail: found.reason };
    const run = await this.deps.os.run(found.path, ['uname', '-m'], this.probeTimeoutMs);
    return judgeUname(target, run, `${found.path} uname -m`, this.probeTimeoutMs);
  }

  private async container(target: TargetId, entry: KernelEntry, docker: DockerInfo): Promise<Outcome> {
    if (!docker.reachable)
      return {
        status: 'skipped',
        detail:
          `dockerd is not reachable (${docker.error ?? 'unknown reason'}): start dockerd ` +
          '(e.g. systemctl start docker) or set BINFLEET_DOCKER_SOCKET to its socket, then verify again.',
      };
    const platform = dockerPlatformOf(target);
    if (platform === undefined)
      return { status: 'skipped', detail: `Docker has no platform for ${target}: verify it with the probe.` };
    const named = imageForTarget(this.imageTemplate, target);
    if ('missing' in named) return { status: 'skipped', detail: named.missing };
    // Without F the kernel opens the interpreter inside the container, where it usually is not.
    const withoutF = entry.flags.includes('F')
      ? ''
      : ` Note: ${entryNameOf(target)} lacks F (persistent), so the image itself must contain ${entry.interpreter}.`;
    try {
      const run = await this.deps.docker.runOnce({
        image: named.image,
        platform,
        cmd: ['uname', '-m'],
        timeoutMs: this.containerTimeoutMs,
      });
      const judged = judgeUname(
        target,
        run,
        `uname -m in ${named.image} (${platform})`,
        this.containerTimeoutMs,
      );
      return { ...judged, detail: judged.detail + withoutF };
    } catch (error) {
      if (!(error instanceof AgentError)) throw error;
      const skipped = error.code === 'IMAGE_MISSING' || error.code === 'DOCKER_UNAVAILABLE';
      return { status: skipped ? 'skipped' : 'fail', detail: error.message + withoutF };
    }
  }
}

async function timed(
  target: TargetId,
  method: VerifyMethod,
  check: () => Promise<Outcome>,
): Promise<VerifyCheck> {
  const started = performance.now();
  const outcome = await check();
  return { target, method, ...outcome, durationMs: Math.round(performance.now() - started) };
}
