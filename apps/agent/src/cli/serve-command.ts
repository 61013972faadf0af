import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { interpreterDirSchema } from '@binfleet/agent-contract';
import { DEFAULT_MAX_PACKAGE_BYTES, DiskPackageStore } from '@binfleet/deb';
import { DEFAULT_MOUNT_POINT, KernelBinfmtFs } from '../binfmt/binfmt-fs.ts';
import { FleetLink } from '../control-plane/fleet-link.ts';
import type { DockerClient, ImageClient } from '../docker/docker-client.ts';
import { readEnv, takeSecretEnv } from '../env.ts';
import { HostProbe } from '../host/host-probe.ts';
import { BearerAuth, generateToken, hashToken, validateToken } from '../server/bearer-auth.ts';
import { createAgentHttpServer } from '../server/http-server.ts';
import { AgentService } from '../services/agent-service.ts';
import { ImageBuildService } from '../image-build/image-build-service.ts';
import { HostLock } from '../services/host-lock.ts';
import { OperationLock } from '../services/operation-lock.ts';
import { AgentPackageStore } from '../services/package-store.ts';
import { Reconciler, type LogRecord } from '../services/reconciler.ts';
import { RegistrationService } from '../services/registration-service.ts';
import { DEFAULT_STATE_DIR, StateStore } from '../services/state-store.ts';
import { DEFAULT_IMAGE_TEMPLATE } from '../services/verify-image.ts';
import { VerifyService } from '../services/verify-service.ts';
import { parse, parseDuration, UsageError } from './args.ts';

export const SERVE_USAGE = `Usage: binfleet-agent serve [options]

Runs the agent: a token-protected tRPC API under /trpc (GET /healthz without a token), and a
reconciler that re-applies this host's desired state at start and on a timer.

  --listen HOST:PORT         address to serve on (default 127.0.0.1:7475; [::1]:7475 for IPv6)
  --mount-point PATH         binfmt_misc mount point (default $BINFLEET_BINFMT_MOUNT or ${DEFAULT_MOUNT_POINT})
  --state-dir DIR            desired state and token hash (default $BINFLEET_STATE_DIR or ${DEFAULT_STATE_DIR})
  --token-file FILE          the API token, read from FILE; else $BINFLEET_AGENT_TOKEN; else the token
                             kept from an earlier start; else a new one, printed once
  --reconcile-interval DUR   how often to compare the kernel with the desired state (default 60s;
                             e.g. 30s, 5m, 1500ms)
  --lock-wait DUR            how long a change waits for another one before answering BUSY (default 10s)
  --interpreter-dir DIR      where the emulators are when a request does not say (default $QEMU_BIN_DIR
                             or /usr/bin; named qemu-<cpu>-static)
  --probe-dir DIR            static binaries for verify: DIR/<debian-arch>/busybox (default $BINFLEET_PROBE_DIR)
  --verify-image TEMPLATE    image for container checks (default ${DEFAULT_IMAGE_TEMPLATE}; {official},
                             {debian}, {target} are replaced per architecture)
  --busybox FILE             static busybox (Debian busybox-static) for the register images this host
                             builds (default $BINFLEET_BUSYBOX or /bin/busybox)
  --max-package-size BYTES   largest package a control plane may upload for builds (PUT /packages/<sha256>,
                             kept in the state dir's packages/; default 512 MiB; e.g. 268435456, 256M, 1G)
  --tls-cert FILE            PEM certificate: serve HTTPS (needs --tls-key)
  --tls-key FILE             PEM private key
  --server URL               the binfleet control plane to join (with --join-token) and heartbeat to
  --join-token TOKEN         join once with this token (from Settings > Join tokens); the link is kept
                             in the state dir, so later starts need only the agent itself
  --advertise-url URL        the URL the control plane calls this agent at (default: from --listen)
  --heartbeat-interval DUR   override the control plane's heartbeat interval
  -h, --help                 this text

Logs are JSON lines on stdout. SIGTERM or SIGINT stops it after the requests in progress.
`;

const OPTIONS = {
  listen: { type: 'string' },
  'mount-point': { type: 'string' },
  'state-dir': { type: 'string' },
  'token-file': { type: 'string' },
  'reconcile-interval': { type: 'string' },
  'lock-wait': { type: 'string' },
  'interpreter-dir': { type: 'string' },
  'probe-dir': { type: 'string' },
  'verify-image': { type: 'string' },
  busybox: { type: 'string' },
  'max-package-size': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  server: { type: 'string' },
  'join-token': { type: 'string' },
  'advertise-url': { type: 'string' },
  'heartbeat-interval': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** How long open connections get to finish after SIGTERM before they are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function serveCommand(argv: string[]): Promise<number> {
  // Before anything else: a token in the environment must not outlive this line in this process.
  const envToken = takeSecretEnv('BINFLEET_AGENT_TOKEN');
  const { values, positionals } = parse(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`Unexpected argument "${positionals[0]}". See serve --help.`);
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together: give both for HTTPS, or neither.');
  }
  const env = readEnv();
  const listen = parseListen(values.listen ?? '127.0.0.1:7475');
  const intervalMs = parseDuration('--reconcile-interval', values['reconcile-interval'] ?? '60s');
  const lockWaitMs = parseDuration('--lock-wait', values['lock-wait'] ?? '10s');
  const interpreterDir = checkedDir(values['interpreter-dir'] ?? env.qemuBinDir ?? '/usr/bin');
  const mountPoint = values['mount-point'] ?? env.binfmtMount ?? DEFAULT_MOUNT_POINT;
  if (!mountPoint.startsWith('/')) throw new UsageError('--mount-point needs an absolute path.');

  const store = new StateStore(values['state-dir'] ?? env.stateDir ?? DEFAULT_STATE_DIR);
  const packageStore = new AgentPackageStore(
    new DiskPackageStore(
      join(store.dir, 'packages'),
      parseSize('--max-package-size', values['max-package-size'] ?? String(DEFAULT_MAX_PACKAGE_BYTES)),
    ),
  );
  const tls =
    values['tls-cert'] && values['tls-key']
      ? await readTls(values['tls-cert'], values['tls-key'])
      : undefined;
  const joining = values['join-token'] !== undefined;
  const tokenHash = await resolveTokenHash(store, values['token-file'], envToken, joining);
  if (values['join-token'] !== undefined && values.server === undefined) {
    throw new UsageError('--join-token needs --server URL: the control plane to join.');
  }
  const heartbeatMs =
    values['heartbeat-interval'] === undefined
      ? undefined
      : parseDuration('--heartbeat-interval', values['heartbeat-interval']);

  const probe = new HostProbe();
  const registration = new RegistrationService(new KernelBinfmtFs(mountPoint), probe.interpreterExists);
  // Shared with `binfleet-agent register` & co. run by hand on this host (same binfmt_misc).
  const hostLock = HostLock.forThisNamespace(env.lockDir);
  const lock = new OperationLock(undefined, hostLock);
  const reconciler = new Reconciler(registration, store, lock, { intervalMs, log });
  const docker = lazyDocker(env.dockerSocket);
  const version = await agentVersion();
  const hostFacts = await probe.facts();
  const imageTemplate = values['verify-image'] ?? env.verifyImage ?? DEFAULT_IMAGE_TEMPLATE;
  const hostArch = env.hostArch ?? hostFacts.machine;
  const builds = new ImageBuildService({
    docker,
    // dockerd's containers register in the machine's binfmt_misc, wherever this agent's --mount-point is.
    machineBinfmt: new KernelBinfmtFs(DEFAULT_MOUNT_POINT),
    binfmtNamespaced: hostFacts.binfmtNamespaced,
    lock,
    lockWaitMs,
    hostArch,
    busybox: values.busybox ?? env.busybox ?? '/bin/busybox',
    testImageTemplate: imageTemplate,
    packageStore,
  });
  const agent = new AgentService({
    registration,
    store,
    lock,
    reconciler,
    probe,
    docker,
    verifier: new VerifyService({
      registration,
      docker,
      probeDir: values['probe-dir'] ?? env.probeDir,
      imageTemplate,
    }),
    hostArch,
    interpreters: { interpreterDir, suffix: '-static' },
    lockWaitMs,
    version,
    builds,
  });
  const auth = new BearerAuth(tokenHash);
  const server = createAgentHttpServer({
    agent,
    auth,
    version,
    packages: packageStore,
    ...(tls ? { tls } : {}),
    onError: (error) =>
      log({ event: 'request-failed', level: 'error', message: (error as Error)?.stack ?? String(error) }),
  });

  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new UsageError(`--listen ${listen.host}:${listen.port}: ${error.message}`)),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  log({
    event: 'listening',
    url: `${tls ? 'https' : 'http'}://${formatHost(address.address)}:${address.port}`,
    version,
    pid: process.pid,
  });
  reconciler.start();

  const fleet = new FleetLink(agent, store, {
    advertiseUrl:
      values['advertise-url'] ?? `${tls ? 'https' : 'http'}://${formatHost(address.address)}:${address.port}`,
    ...(heartbeatMs ? { intervalMs: heartbeatMs } : {}),
    log,
  });
  if (values.server !== undefined && values['join-token'] !== undefined) {
    try {
      const apiToken = await fleet.join(values.server, values['join-token']);
      const hash = hashToken(apiToken);
      await store.writeTokenHash(hash);
      auth.replace(hash);
    } catch (error) {
      // A refused join ends the agent with the server's reason. Left listening without a link, it
      // would run on unnoticed, and not even stop on SIGTERM (nothing awaits the signal any more).
      await reconciler.stop();
      server.close();
      server.closeAllConnections();
      throw error;
    }
  }
  await fleet.start();

  const signal = await stopSignal;
  log({ event: 'stopping', signal });
  fleet.stop();
  await reconciler.stop();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
  await closed;
  clearTimeout(grace);
  await hostLock.close();
  log({ event: 'stopped' });
  return 0;
}

/** Where the token comes from, in order: file, environment, the hash kept from before, a new one. */
async function resolveTokenHash(
  store: StateStore,
  tokenFile: string | undefined,
  envToken: string | undefined,
  joining: boolean,
): Promise<string> {
  if (tokenFile !== undefined) {
    const text = await readFile(tokenFile, 'utf8').catch((error: Error) => {
      throw new UsageError(`--token-file ${tokenFile}: ${error.message}`);
    });
    return remember(store, validateToken(text.trim(), tokenFile));
  }
  if (envToken !== undefined) return remember(store, validateToken(envToken, 'BINFLEET_AGENT_TOKEN'));
  const kept = await store.readTokenHash();
  if (kept !== undefined) return kept;
  const token = generateToken();
  const hash = await remember(store, token);
  // Joining replaces it with the control plane's credential in a moment: nothing to show.
  if (joining) return hash;
  // The one time this token is ever shown: only its hash is kept.
  log({
    event: 'token-generated',
    token,
    message: `New API token; it is shown only now (the agent keeps its hash in ${store.tokenFile}). Delete that file to make a new one.`,
  });
  return hash;
}

/** Keeping the hash lets a restart without --token-file go on accepting the same token. */
async function remember(store: StateStore, token: string): Promise<string> {
  const hash = hashToken(token);
  await store.writeTokenHash(hash);
  return hash;
}

/** dockerode is loaded on the first Docker call: an agent that is never asked stays small. */
function lazyDocker(socketPath: string | undefined): DockerClient & ImageClient {
  let client: Promise<DockerClient & ImageClient> | undefined;
  const get = () =>
    (client ??= import('../docker/docker-client.ts').then((m) => new m.DockerodeClient(socketPath)));
  return {
    info: async (options) => (await get()).info(options),
    runOnce: async (options) => (await get()).runOnce(options),
    hasImage: async (name) => (await get()).hasImage(name),
    buildImage: async (options) => (await get()).buildImage(options),
    pushImage: async (options) => (await get()).pushImage(options),
    removeImage: async (name) => (await get()).removeImage(name),
    inspectImage: async (name) => (await get()).inspectImage(name),
  };
}

function log(record: LogRecord): void {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level: 'info', ...record }) + '\n');
}

async function readTls(cert: string, key: string): Promise<{ cert: Buffer; key: Buffer }> {
  const read = (file: string, option: string) =>
    readFile(file).catch((error: Error) => {
      throw new UsageError(`${option} ${file}: ${error.message}`);
    });
  return { cert: await read(cert, '--tls-cert'), key: await read(key, '--tls-key') };
}

async function agentVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new UsageError(
      `--listen "${value}" is not HOST:PORT: e.g. 127.0.0.1:7475, 0.0.0.0:7475 or [::1]:7475.`,
    );
  }
  return { host: match[1] ?? match[2]!, port };
}

const formatHost = (address: string) => (address.includes(':') ? `[${address}]` : address);

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** `268435456`, `256M`, `1G` (binary units). */
function parseSize(option: string, value: string): number {
  const match = /^(\d+)([KMG]?)i?B?$/i.exec(value.trim());
  const bytes = match ? Number(match[1]) * SIZE_UNITS[match[2]!.toUpperCase()]! : NaN;
  if (!(bytes >= 1 && Number.isSafeInteger(bytes)))
    throw new UsageError(`${option} "${value}" is not a size: e.g. 268435456, 256M, 1G.`);
  return bytes;
}

function checkedDir(dir: string): string {
  const parsed = interpreterDirSchema.safeParse(dir);
  if (!parsed.success) throw new UsageError(`--interpreter-dir: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
