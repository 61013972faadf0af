import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { agentApi } from '@binfleet/agent-contract';
import { DiskPackageStore } from '@binfleet/deb';
import { dpkgPackageReader } from './adapters/dpkg-package-reader.ts';
import { DEFAULT_MOUNT_POINT, type BinfmtFs } from './adapters/binfmt-fs.ts';
import type { DockerClient, ImageClient } from './adapters/docker-client.ts';
import { DockerodeClient } from './adapters/dockerode-client.ts';
import { FileStateStore } from './adapters/file-state-store.ts';
import { FlockHostLock } from './adapters/flock-host-lock.ts';
import type { AgentInstall } from './adapters/agent-install.ts';
import type { HostLock } from './adapters/host-lock.ts';
import type { HostOs } from './adapters/host-os.ts';
import { HttpRegistryClient } from './adapters/http-registry-client.ts';
import { KernelBinfmtFs } from './adapters/kernel-binfmt-fs.ts';
import { TarballAgentInstall } from './adapters/tarball-agent-install.ts';
import { unshareSandboxes } from './adapters/unshare-emulation-sandbox.ts';
import { nodeHostOs } from './adapters/node-host-os.ts';
import type { StateStore, TokenHashes } from './adapters/state-store.ts';
import { urlHost } from './control-plane/route-address.ts';
import { DialOutChannel } from './control-plane/dial-out-channel.ts';
import { ControlPlaneClient } from './control-plane/control-plane-client.ts';
import { FleetLink } from './control-plane/fleet-link.ts';
import { PackageFetcher, type PackageOrigin } from './services/package-fetch.ts';
import { HostProbe } from './host/host-probe.ts';
import { isAgentError } from './errors.ts';
import { BearerAuth, hashToken } from './server/bearer-auth.ts';
import { callDispatcher } from './server/call-dispatch.ts';
import { createAgentHttpServer } from './server/http-server.ts';
import { AgentService } from './services/agent-service.ts';
import { AgentUpgrade } from './services/agent-upgrade.ts';
import { ImageBuildService } from './image-build/image-build-service.ts';
import { OperationLock } from './services/operation-lock.ts';
import { AgentPackageStore } from './adapters/agent-package-store.ts';
import { Reconciler, type LogRecord } from './services/reconciler.ts';
import { RegistrationService } from './services/registration-service.ts';
import { VerifyService } from './services/verify-service.ts';

/** Everything the agent's services touch the host through. */
export interface AgentAdapters {
  /** binfmt_misc at the agent's mount point: what it registers in. */
  readonly binfmt: BinfmtFs;
  /** The machine's own binfmt_misc, where dockerd's containers register (image builds). */
  readonly machineBinfmt: BinfmtFs;
  readonly os: HostOs;
  readonly docker: DockerClient & ImageClient;
  /** Shared with `binfleet-agent register` & co. run by hand on this host (same binfmt_misc). */
  readonly hostLock: HostLock;
  readonly store: StateStore;
  /** Packages a control plane uploads for builds. */
  readonly packages: AgentPackageStore;
  /** This agent's own code, for upgrades in place; absent: it cannot upgrade itself. */
  readonly install?: AgentInstall;
}

/** The real host's adapters, as `serve` runs on it. */
export function hostAdapters(config: {
  readonly mountPoint: string;
  readonly stateDir: string;
  readonly maxPackageBytes: number;
  readonly lockDir: string;
  readonly dockerSocket: string;
}): AgentAdapters {
  return {
    binfmt: new KernelBinfmtFs(config.mountPoint),
    // dockerd's containers register in the machine's binfmt_misc, wherever the agent's mount point is.
    machineBinfmt: new KernelBinfmtFs(DEFAULT_MOUNT_POINT),
    os: nodeHostOs,
    // dockerode itself is loaded on the first call past the version check (dockerode-client.ts).
    docker: new DockerodeClient(config.dockerSocket),
    hostLock: FlockHostLock.forThisNamespace(config.lockDir),
    store: new FileStateStore(config.stateDir),
    packages: new AgentPackageStore(
      new DiskPackageStore(join(config.stateDir, 'packages'), config.maxPackageBytes),
    ),
    // The bundle node runs: the launcher resolves `current`, so a tarball install runs versions/<v>/.
    install: TarballAgentInstall.forBundle(process.argv[1]),
  };
}

/** What `serve` was asked for, checked and with the defaults filled in. */
export interface AgentSettings {
  readonly listen: { readonly host: string; readonly port: number };
  /** PEM certificate and key: serve HTTPS. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly reconcileIntervalMs: number;
  /** How long a change waits for another one before answering BUSY. */
  readonly lockWaitMs: number;
  /** Where the emulators are when a request does not say. */
  readonly interpreterDir: string;
  readonly probeDir?: string;
  readonly imageTemplate: string;
  readonly busybox: string;
  /** Instead of the machine the host reports (HOST_ARCH). */
  readonly hostArch?: string;
  /** Where the control plane reaches this agent; default: the address it listens on. */
  readonly advertiseUrl?: string;
  /** Instead of the control plane's heartbeat interval. */
  readonly heartbeatIntervalMs?: number;
  /** Join this control plane at start (once: the link is kept in the state store). */
  readonly join?: { readonly serverUrl: string; readonly token: string };
  /**
   * Dial out: no HTTP server, no listening socket; calls come over a channel this agent opens to its
   * control plane (control-plane/dial-out-channel.ts). `listen`, `tls` and `advertiseUrl` are unused.
   */
  readonly dialOut?: boolean;
}

export interface ComposeOptions {
  readonly version: string;
  /** SHA-256 of the API token the HTTP server accepts (joining or a rotation replaces it). */
  readonly tokenHashes: TokenHashes;
  readonly log: (record: LogRecord) => void;
  /**
   * Asked once an upgrade has put a new version in place (its answer is on its way): `serve` stops
   * and starts again on it. Without it (and the adapters' install) the agent refuses upgrades.
   */
  readonly restart?: () => void;
}

/** The agent wired and ready to start. */
export interface ComposedAgent {
  readonly service: AgentService;
  /** None when dialing out. */
  readonly server: Server | undefined;
  readonly reconciler: Reconciler;
  /**
   * Listens (logging `listening`), starts reconciling, joins the control plane when asked and
   * heartbeats to the one it is linked to. A listen failure rejects with a ListenError; a refused
   * join with the control plane's reason, the agent stopped again.
   */
  start(): Promise<{ readonly url: string | undefined; readonly fleetLink: FleetLink }>;
  /**
   * Stops heartbeats and reconciliation, lets requests in progress finish (cutting open connections
   * after SHUTDOWN_GRACE_MS) and lets go of the host lock.
   */
  stop(): Promise<void>;
}

/** A dial-out agent that cannot dial out (not joined, or joined as a direct agent). */
export class DialOutError extends Error {
  override name = 'DialOutError';
}

/** The address the agent was to listen on could not be used. */
export class ListenError extends Error {
  override name = 'ListenError';
}

/** How long open connections get to finish after stop() before they are cut. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** Wires the agent `serve` runs: its services over `adapters`, the reconciler, the HTTP server, the fleet link. */
export async function composeAgent(
  settings: AgentSettings,
  adapters: AgentAdapters,
  options: ComposeOptions,
): Promise<ComposedAgent> {
  const { log, version } = options;
  const { store, docker, hostLock } = adapters;
  const probe = new HostProbe(adapters.os);
  const registration = new RegistrationService(adapters.binfmt, probe, { audit: log });
  const lock = new OperationLock(undefined, hostLock);
  const reconciler = new Reconciler(registration, store, lock, {
    intervalMs: settings.reconcileIntervalMs,
    log,
  });
  const hostFacts = await probe.facts();
  const hostArch = settings.hostArch ?? hostFacts.machine;
  const builds = new ImageBuildService({
    docker,
    machineBinfmt: adapters.machineBinfmt,
    binfmtNamespaced: hostFacts.binfmtNamespaced,
    lock,
    lockWaitMs: settings.lockWaitMs,
    hostArch,
    busybox: settings.busybox,
    testImageTemplate: settings.imageTemplate,
    packageStore: adapters.packages,
    os: adapters.os,
    packages: dpkgPackageReader,
    registry: new HttpRegistryClient(),
    sandboxes: unshareSandboxes,
    emulatorDir: settings.interpreterDir,
  });
  // Where a dial-out builder fetches packages: known once dialOut() has read the link.
  let packageOrigin: PackageOrigin | undefined;
  const service = new AgentService({
    registration,
    store,
    lock,
    reconciler,
    probe,
    docker,
    verifier: new VerifyService({
      registration,
      docker,
      os: adapters.os,
      probeDir: settings.probeDir,
      imageTemplate: settings.imageTemplate,
    }),
    hostArch,
    interpreters: { interpreterDir: settings.interpreterDir, suffix: '-static' },
    lockWaitMs: settings.lockWaitMs,
    version,
    builds,
    packages: new PackageFetcher(adapters.packages, () => packageOrigin),
    ...(adapters.install && options.restart
      ? {
          upgrades: new AgentUpgrade({
            install: adapters.install,
            serverUrl: async () => (await store.readFleetLink()).link?.serverUrl,
            version,
            restart: options.restart,
            log,
          }),
        }
      : {}),
  });
  // The token a rotation replaced is accepted until the control plane presents the new one: from
  // then on it is refused, also after a restart.
  const auth = new BearerAuth(options.tokenHashes, (hashes) => {
    store.writeTokenHashes(hashes).then(
      () =>
        log({
          event: 'previous-token-retired',
          message: 'The control plane uses the new API token: the old one is refused from now on.',
        }),
      (error: unknown) =>
        log({
          event: 'token-save-failed',
          level: 'warn',
          message: `${(error as Error).message} (the old API token is accepted again after a restart until the new one is used)`,
        }),
    );
  });
  const adoptApiToken = async (token: string) => {
    const hash = hashToken(token);
    const kept = await store.readTokenHashes();
    // The same pair offered again (its answer came, but the next beat did not go out): kept already.
    if (kept?.hash === hash) return;
    const hashes = { hash, ...(kept ? { previousHash: kept.hash } : {}) };
    await store.writeTokenHashes(hashes);
    auth.replace(hashes);
  };
  const server = settings.dialOut
    ? undefined
    : await createAgentHttpServer({
        agent: service,
        auth,
        version,
        packages: adapters.packages,
        ...(settings.tls ? { tls: settings.tls } : {}),
        onError: (error) =>
          log({ event: 'request-failed', level: 'error', message: (error as Error)?.stack ?? String(error) }),
      });
  let fleetLink: FleetLink | undefined;
  // Heartbeats do not wait for the emulators' versions: the beat after they are read carries them.
  probe.onVersionsRead(() => fleetLink?.beatSoon());
  let channel: DialOutChannel | undefined;

  /**
   * Before the agent takes calls: an apply of the default state (reset, F) rehearsed, and the
   * contract's parsers run over its request and answer. Otherwise the first job after a start pays
   * for it: V8 compiles a function at its first call, zod builds a schema's fast parser at its first
   * parse, the host lock starts its helper process at first use (a first apply cost ~60-80 ms of CPU,
   * later ones ~20). Skipped when another process holds the lock; a refusal (missing emulators, say)
   * is the real apply's to report.
   */
  const rehearseFirstApply = async () => {
    const request = { reset: true, persistent: true };
    try {
      agentApi.applyState.input.parse(request);
      const outcome = await service.rehearseApply(request, 0);
      if (outcome) agentApi.applyState.output.parse(outcome);
    } catch (error) {
      if (!isAgentError(error))
        log({ event: 'rehearsal-failed', level: 'warn', message: (error as Error)?.stack ?? String(error) });
    }
  };

  const join = async (link: FleetLink) => {
    if (!settings.join) return;
    try {
      const hash = hashToken(await link.join(settings.join.serverUrl, settings.join.token));
      await store.writeTokenHashes({ hash });
      auth.replace({ hash });
    } catch (error) {
      // A refused join ends the agent with the server's reason. Left running without a link, it
      // would run on unnoticed.
      await reconciler.stop();
      server?.close();
      server?.closeAllConnections();
      throw error;
    }
  };

  const dialOut = async () => {
    log({ event: 'dialing-out', version, pid: process.pid });
    reconciler.start();
    fleetLink = new FleetLink(service, store, {
      transport: 'dial-out',
      ...(settings.heartbeatIntervalMs ? { intervalMs: settings.heartbeatIntervalMs } : {}),
      log,
      adoptApiToken,
    });
    await join(fleetLink);
    const { link } = await store.readFleetLink();
    const problem = !link
      ? '--dial-out needs a control plane: give --server URL and --join-token.'
      : link.transport !== 'dial-out'
        ? `this agent joined ${link.serverUrl} with the direct transport: join again with --dial-out and a new join token.`
        : undefined;
    if (problem) {
      await reconciler.stop();
      throw new DialOutError(problem);
    }
    await fleetLink.start();
    // Asked at each use: a credential rotation replaces it while the channel runs.
    const token = async () => fleetLink!.heartbeatToken ?? link!.heartbeatToken;
    packageOrigin = { client: new ControlPlaneClient(link!.serverUrl), token };
    channel = new DialOutChannel(callDispatcher(service), { serverUrl: link!.serverUrl, token, log });
    channel.start();
    return { url: undefined, fleetLink };
  };

  const start = async () => {
    await rehearseFirstApply();
    if (!server) return dialOut();
    const { host, port } = settings.listen;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new ListenError(`${host}:${port}: ${error.message}`)));
      server.listen(port, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const url = `${settings.tls ? 'https' : 'http'}://${urlHost(address.address)}:${address.port}`;
    log({ event: 'listening', url, version, pid: process.pid });
    reconciler.start();

    fleetLink = new FleetLink(service, store, {
      advertiseUrl: settings.advertiseUrl ?? url,
      transport: 'direct',
      ...(settings.heartbeatIntervalMs ? { intervalMs: settings.heartbeatIntervalMs } : {}),
      log,
      adoptApiToken,
    });
    await join(fleetLink);
    await fleetLink.start();
    return { url, fleetLink };
  };

  const stop = async () => {
    fleetLink?.stop();
    await channel?.stop();
    await reconciler.stop();
    if (!server) return void (await hostLock.close());
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    await closed;
    clearTimeout(grace);
    await hostLock.close();
  };

  return { service, server, reconciler, start, stop };
}
