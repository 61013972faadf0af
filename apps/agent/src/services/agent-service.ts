import {
  CONTRACT_VERSION,
  type AgentFacts,
  type AgentStatus,
  type ApplyOutcome,
  type DesiredState,
  type FetchPackageOutcome,
  type RemoveOutcome,
  type ToggleOutcome,
  type VerifyOutcome,
  type VerifyReport,
} from '@binfleet/agent-contract';
import {
  renderExport,
  targetsForHost,
  type ExportFile,
  type ExportFormat,
  type TargetId,
} from '@binfleet/arch-table';
import type { DockerClient } from '../adapters/docker-client.ts';
import type { HostProbe, InterpreterLocation } from '../host/host-probe.ts';
import { desiredState } from './desired-state.ts';
import type { LockHolder, OperationLock } from './operation-lock.ts';
import { actionRecord } from './action-record.ts';
import type { ReconcilerStatus } from './reconciler.ts';
import { isNoop, planApply } from './registration-plan.ts';
import type { ApplyResult, BinfmtStatus, RegistrationService } from './registration-service.ts';
import type { VerifyOptions } from './verify-service.ts';
import type { ImageBuildService } from '../image-build/image-build-service.ts';
import type { AgentUpgrade } from './agent-upgrade.ts';
import { AgentError } from '../errors.ts';
import type { PackageFetcher } from './package-fetch.ts';

/**
 * How old dockerd's answer in facts may be: heartbeats (every second, at the shortest) need not ask
 * dockerd each time for a version that almost never changes. A dockerd that goes away shows up within
 * this time; one that comes back at the next beat (unreachable answers are not kept).
 */
export const DOCKER_INFO_MAX_AGE_MS = 60_000;

/** A desired state as callers give it: what they leave out follows the host rules and seed defaults. */
export interface ApplyRequest {
  /** Default: every target the host needs (qemu-binfmt-conf.sh's host-family rules). */
  readonly targets?: readonly TargetId[];
  readonly ignoreFamily?: boolean;
  readonly disabled?: readonly TargetId[];
  readonly interpreterDir?: string;
  readonly suffix?: string;
  readonly credential?: boolean;
  readonly persistent?: boolean;
  readonly preserveArgv0?: boolean;
  /** Remove every qemu-* entry first, like the seed's --reset. */
  readonly reset?: boolean;
  /** Replace entries registered with other settings; register beside overlapping entries. */
  readonly force?: boolean;
  /** Register targets that take this host's own programs (breaks it): audited. */
  readonly forceNative?: boolean;
  /** Register without F although emulators are missing (a staged install). */
  readonly allowMissing?: boolean;
}

export interface ExportRequest {
  readonly format: ExportFormat;
  readonly targets?: readonly TargetId[];
  readonly ignoreFamily?: boolean;
  readonly interpreterDir?: string;
  readonly suffix?: string;
  readonly credential?: boolean;
  readonly persistent?: boolean;
  readonly preserveArgv0?: boolean;
}

export interface DesiredStateStore {
  readDesired(): Promise<DesiredState | undefined>;
  writeDesired(state: DesiredState): Promise<void>;
}

export interface AgentServiceDeps {
  readonly registration: RegistrationService;
  readonly store: DesiredStateStore;
  readonly lock: OperationLock;
  readonly reconciler: { status(): ReconcilerStatus };
  readonly probe: HostProbe;
  readonly docker: DockerClient;
  readonly verifier: { verify(options: VerifyOptions): Promise<VerifyReport> };
  /** `uname -m`, or HOST_ARCH: decides the default targets. */
  readonly hostArch: string;
  /** Where emulators are when a request does not say (--interpreter-dir, seed suffix). */
  readonly interpreters: Required<InterpreterLocation>;
  /** How long a mutating call waits for another operation before answering BUSY. */
  readonly lockWaitMs: number;
  readonly version: string;
  /** Image builds; absent on agents that cannot build (no dockerd wiring). */
  readonly builds?: ImageBuildService;
  /** A dial-out builder's way to the packages its builds need. */
  readonly packages?: PackageFetcher;
  /** Upgrades of this agent in place; absent where it cannot restart itself (tests composing it alone). */
  readonly upgrades?: AgentUpgrade;
}

const notBuilder = () =>
  new AgentError(
    'NOT_BUILDER',
    'This agent does not run image builds: start it with `binfleet-agent serve` on a host with dockerd.',
  );

/**
 * What the agent's API offers, over the services that do the work. Every call that changes the
 * kernel (or, for verify, depends on it not changing) holds the host's lock; calls that change
 * entries also update the desired state, so the reconciler keeps what callers asked for instead of
 * undoing it.
 */
export class AgentService {
  /** What facts() answered last: answered again, the same object, while nothing in it changed. */
  private lastFacts: AgentFacts | undefined;

  constructor(private readonly deps: AgentServiceDeps) {}

  /** The build service of a builder agent. */
  get builds(): ImageBuildService {
    if (!this.deps.builds) throw notBuilder();
    return this.deps.builds;
  }

  /** A package a build of this builder needs, fetched from the control plane unless kept already. */
  fetchPackage(sha256: string): Promise<FetchPackageOutcome> {
    if (!this.deps.packages || !this.deps.builds) throw notBuilder();
    return this.deps.packages.fetch(sha256);
  }

  /** Upgrades of this agent's own code (upgradeAgent). */
  get upgrades(): AgentUpgrade {
    if (!this.deps.upgrades) {
      throw new AgentError(
        'UPGRADE_FAILED',
        'This agent was started without a way to restart itself: upgrade it as it was installed.',
      );
    }
    return this.deps.upgrades;
  }

  facts(): Promise<AgentFacts> {
    return this.factsWith(this.deps.registration.status());
  }

  async status(): Promise<AgentStatus> {
    const [binfmt, desired] = await Promise.all([
      this.deps.registration.status(),
      this.deps.store.readDesired(),
    ]);
    const plan =
      desired && planApply(new Map(binfmt.entries.map((e) => [e.name, e.entry])), desired, { force: true });
    const holder = this.deps.lock.holder;
    return {
      binfmt,
      desired: desired ?? null,
      drift:
        plan && !isNoop(plan) ? plan.actions.filter((a) => a.kind !== 'unchanged').map(actionRecord) : [],
      reconciler: this.deps.reconciler.status(),
      operation: holder ? describeHolder(holder) : null,
    };
  }

  /**
   * What one heartbeat reports: facts, the kernel's entries and the reconciler, with binfmt_misc read
   * once for both. Unlike status(), it does not read the desired state, so a corrupt state file,
   * which the reconciler reports, cannot stop heartbeats.
   */
  async heartbeat(): Promise<{ facts: AgentFacts } & Pick<AgentStatus, 'binfmt' | 'reconciler'>> {
    const binfmt = this.deps.registration.status();
    // Emulator versions not read yet follow in a later beat (HostProbe.onVersionsRead).
    const facts = await this.factsWith(binfmt, { waitForVersions: false });
    return { facts, binfmt: await binfmt, reconciler: this.deps.reconciler.status() };
  }

  /** Applies a desired state and, once the kernel holds it, keeps it as this host's desired state. */
  apply(request: ApplyRequest): Promise<ApplyOutcome> {
    return this.locked(request.reset ? 'apply --reset' : 'apply', async () => {
      const desired = this.desiredOf(request);
      const result = await this.deps.registration.apply(desired, applyOptionsOf(request));
      await this.deps.store.writeDesired(desired);
      return applyOutcome(result, desired);
    });
  }

  /**
   * What apply(request) would answer if the kernel were left as it is now, found the way apply finds
   * it, under the lock (waiting for it up to `waitMs`), writing nothing (not even the desired state).
   * Undefined when binfmt_misc is not mounted. `serve` rehearses once at start, so that its first
   * real apply finds that code compiled, the lock's helper running and the guard's file facts kept.
   */
  rehearseApply(request: ApplyRequest, waitMs = this.deps.lockWaitMs): Promise<ApplyOutcome | undefined> {
    return this.locked(
      'rehearse apply',
      async () => {
        const desired = this.desiredOf(request);
        const result = await this.deps.registration.rehearse(desired, applyOptionsOf(request));
        return result && applyOutcome(result, desired);
      },
      waitMs,
    );
  }

  private desiredOf(request: ApplyRequest): DesiredState {
    return desiredState({
      targets: [
        ...(request.targets ??
          targetsForHost(this.deps.hostArch, { ignoreFamily: request.ignoreFamily ?? false })),
      ],
      disabled: [...(request.disabled ?? [])],
      interpreterDir: request.interpreterDir ?? this.deps.interpreters.interpreterDir,
      suffix: request.suffix ?? this.deps.interpreters.suffix,
      credential: request.credential ?? false,
      persistent: request.persistent ?? false,
      preserveArgv0: request.preserveArgv0 ?? false,
      forceNative: request.forceNative ?? false,
      allowMissing: request.allowMissing ?? false,
    });
  }

  /** Removes entries and drops their targets from the desired state (so they stay removed). */
  remove(targets: readonly TargetId[] | 'all'): Promise<RemoveOutcome> {
    return this.locked('remove', async () => {
      const removed = await this.deps.registration.remove(targets);
      await this.updateDesired((d) => {
        const gone = (t: TargetId) => targets === 'all' || targets.includes(t);
        return {
          ...d,
          targets: d.targets.filter((t) => !gone(t)),
          disabled: d.disabled.filter((t) => !gone(t)),
        };
      });
      return { removed, entries: await this.deps.registration.entries() };
    });
  }

  /** Switches entries on or off and records it, so the reconciler keeps them that way. */
  setEnabled(targets: readonly TargetId[], enabled: boolean): Promise<ToggleOutcome> {
    return this.locked(enabled ? 'enable' : 'disable', async () => {
      const changed = await this.deps.registration.setEnabled(targets, enabled);
      await this.updateDesired((d) => {
        const others = d.disabled.filter((t) => !targets.includes(t));
        const disabled = enabled ? others : [...others, ...targets.filter((t) => d.targets.includes(t))];
        return { ...d, disabled };
      });
      return { changed, entries: await this.deps.registration.entries() };
    });
  }

  /** Held under the lock too: a reset running meanwhile would fail checks that are fine. */
  verify(options: VerifyOptions): Promise<VerifyOutcome> {
    return this.locked('verify', async () => ({
      ...(await this.deps.verifier.verify(options)),
      entries: await this.deps.registration.entries(),
    }));
  }

  /**
   * systemd-binfmt or update-binfmts files. What the request leaves out comes from the desired
   * state when there is one (export what this host keeps), else from the host rules and seed defaults.
   */
  async export(request: ExportRequest): Promise<ExportFile[]> {
    const desired = await this.deps.store.readDesired();
    const byHostRules = request.ignoreFamily !== undefined || desired === undefined;
    const targets =
      request.targets ??
      (byHostRules
        ? targetsForHost(this.deps.hostArch, { ignoreFamily: request.ignoreFamily ?? false })
        : desired.targets);
    return renderExport(request.format, targets, {
      interpreterDir:
        request.interpreterDir ?? desired?.interpreterDir ?? this.deps.interpreters.interpreterDir,
      suffix: request.suffix ?? desired?.suffix ?? this.deps.interpreters.suffix,
      credential: request.credential ?? desired?.credential ?? false,
      persistent: request.persistent ?? desired?.persistent ?? false,
      preserveArgv0: request.preserveArgv0 ?? desired?.preserveArgv0 ?? false,
    });
  }

  /** `binfmtStatus` is awaited at once with the rest: a failed read must not go unhandled meanwhile. */
  private async factsWith(
    binfmtStatus: Promise<BinfmtStatus>,
    options: { readonly waitForVersions?: boolean } = {},
  ): Promise<AgentFacts> {
    const { probe } = this.deps;
    const [host, binfmt, docker, interpreters] = await Promise.all([
      probe.facts(),
      binfmtStatus,
      this.deps.docker.info({ maxAgeMs: DOCKER_INFO_MAX_AGE_MS }),
      this.interpreterLocation().then((location) => probe.interpreters(location, options)),
    ]);
    const facts: AgentFacts = {
      ...host,
      agentVersion: this.deps.version,
      contractVersion: CONTRACT_VERSION,
      binfmt: {
        mountPoint: binfmt.mountPoint,
        mounted: binfmt.mounted,
        writable: binfmt.writable,
        namespaced: host.binfmtNamespaced,
      },
      docker,
      interpreters,
    };
    // The same object as last time while nothing in it changed: a heartbeat tells it unchanged so.
    if (this.lastFacts && sameValues(this.lastFacts, facts)) return this.lastFacts;
    this.lastFacts = facts;
    return facts;
  }

  private locked<T>(label: string, fn: () => Promise<T>, waitMs = this.deps.lockWaitMs): Promise<T> {
    return this.deps.lock.run(label, fn, { waitMs });
  }

  private async updateDesired(change: (d: DesiredState) => DesiredState): Promise<void> {
    const current = await this.deps.store.readDesired();
    if (current) await this.deps.store.writeDesired(desiredState(change(current)));
  }

  /**
   * Emulators of the desired state when there is one, so facts show the versions actually in use. A
   * corrupt state file falls back to the defaults: status and the reconciler report it, and facts
   * (sent with every heartbeat) must not fail with it.
   */
  private async interpreterLocation(): Promise<Required<InterpreterLocation>> {
    const desired = await this.deps.store.readDesired().catch(() => undefined);
    return desired
      ? { interpreterDir: desired.interpreterDir, suffix: desired.suffix }
      : this.deps.interpreters;
  }
}

/**
 * Whether two objects have the same keys and values: each ===, or, `depth` levels down, a plain
 * object with the same (arrays by identity: HostProbe answers the same interpreters list while it is
 * the same).
 */
function sameValues(a: Record<string, unknown>, b: Record<string, unknown>, depth = 1): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => {
    if (!Object.hasOwn(b, k)) return false;
    const [x, y] = [a[k], b[k]];
    return x === y || (depth > 0 && isPlainObject(x) && isPlainObject(y) && sameValues(x, y, depth - 1));
  });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function describeHolder(holder: LockHolder) {
  return { label: holder.label, startedAt: holder.startedAt.toISOString() };
}

const applyOptionsOf = (request: ApplyRequest) => ({
  reset: request.reset ?? false,
  force: request.force ?? false,
});

const applyOutcome = (result: ApplyResult, desired: DesiredState): ApplyOutcome => ({
  changed: result.changed,
  actions: result.actions.filter((a) => a.kind !== 'unchanged').map(actionRecord),
  entries: result.entries,
  desired,
  warnings: result.warnings,
});
