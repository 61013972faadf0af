import { spawn } from 'node:child_process';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { interpreterDirSchema } from '@binfleet/agent-contract';
import { DEFAULT_MAX_PACKAGE_BYTES } from '@binfleet/deb';
import { DEFAULT_MOUNT_POINT } from '../adapters/binfmt-fs.ts';
import { DEFAULT_STATE_DIR, type StateStore, type TokenHashes } from '../adapters/state-store.ts';
import { composeAgent, DialOutError, hostAdapters, ListenError } from '../compose.ts';
import { takeSecretEnv, type AgentEnv } from '../env.ts';
import { generateToken, hashToken, validateToken } from '../server/bearer-auth.ts';
import { agentVersion } from '../version.ts';
import { isWildcard, localAddressToward, urlHost } from '../control-plane/route-address.ts';
import type { LogRecord } from '../services/reconciler.ts';
import { DEFAULT_IMAGE_TEMPLATE } from '../services/verify-image.ts';
import { parse, parseDuration, UsageError } from './args.ts';

export const SERVE_USAGE = `Usage: binfleet-agent serve [options]

Runs the agent: a token-protected tRPC API under /trpc (GET /healthz without a token), and a
reconciler that re-applies this host's desired state at start and on a timer.

  --listen HOST:PORT         address to serve on (default: with a control plane, the address of this
                             host's interface that routes to it, port 7475; else 127.0.0.1:7475;
                             [::1]:7475 for IPv6)
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
  --join-token-file FILE     the same, read from FILE (keeps the token out of argv), which is deleted
                             after a successful join; a missing FILE is fine once the agent has joined
  --advertise-url URL        the URL the control plane calls this agent at (default: from --listen;
                             for 0.0.0.0 or ::, the address of the interface that routes to --server)
  --heartbeat-interval DUR   override the control plane's heartbeat interval
  --dial-out                 listen on nothing: hold one outbound channel to --server and take the
                             control plane's calls on it (for hosts behind NAT or a firewall; joins
                             with the dial-out transport; not with --listen, --tls-*, --advertise-url)
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
  'join-token-file': { type: 'string' },
  'advertise-url': { type: 'string' },
  'heartbeat-interval': { type: 'string' },
  'dial-out': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function serveCommand(argv: string[], env: AgentEnv): Promise<number> {
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
  const reconcileIntervalMs = parseDuration('--reconcile-interval', values['reconcile-interval'] ?? '60s');
  const lockWaitMs = parseDuration('--lock-wait', values['lock-wait'] ?? '10s');
  const interpreterDir = checkedDir(values['interpreter-dir'] ?? env.qemuBinDir);
  const mountPoint = values['mount-point'] ?? env.binfmtMount;
  if (!mountPoint.startsWith('/')) throw new UsageError('--mount-point needs an absolute path.');
  const maxPackageBytes = parseSize(
    '--max-package-size',
    values['max-package-size'] ?? String(DEFAULT_MAX_PACKAGE_BYTES),
  );
  const adapters = hostAdapters({
    mountPoint,
    stateDir: values['state-dir'] ?? env.stateDir,
    maxPackageBytes,
    lockDir: env.lockDir,
    dockerSocket: env.dockerSocket,
  });
  const dialOut = values['dial-out'] === true;
  const listening = ['listen', 'tls-cert', 'tls-key', 'advertise-url'] as const;
  const clash = dialOut ? listening.find((o) => values[o] !== undefined) : undefined;
  if (clash)
    throw new UsageError(`--dial-out listens on nothing: drop --${clash} (the agent opens no port).`);
  const tls =
    values['tls-cert'] && values['tls-key']
      ? await readTls(values['tls-cert'], values['tls-key'])
      : undefined;
  const { link } = await adapters.store.readFleetLink();
  const joinToken = await readJoinToken(values['join-token'], values['join-token-file'], link !== undefined);
  const joining = joinToken !== undefined;
  if (joining && values.server === undefined) {
    throw new UsageError('--join-token needs --server URL: the control plane to join.');
  }
  const tokenHashes = await resolveTokenHashes(adapters.store, values['token-file'], envToken, joining);
  const serverUrl = values.server ?? link?.serverUrl;
  const { listen, advertiseUrl } = dialOut
    ? { listen: { host: '127.0.0.1', port: 0 }, advertiseUrl: undefined }
    : await listenAndAdvertise(values.listen, values['advertise-url'], serverUrl, tls !== undefined);
  const heartbeatIntervalMs =
    values['heartbeat-interval'] === undefined
      ? undefined
      : parseDuration('--heartbeat-interval', values['heartbeat-interval']);

  let upgraded = () => {};
  const stopSignal = new Promise<NodeJS.Signals | 'upgraded'>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
    upgraded = () => resolve('upgraded');
  });
  const agent = await composeAgent(
    {
      listen,
      tls,
      reconcileIntervalMs,
      lockWaitMs,
      interpreterDir,
      probeDir: values['probe-dir'] ?? env.probeDir,
      imageTemplate: values['verify-image'] ?? env.verifyImage,
      busybox: values.busybox ?? env.busybox,
      hostArch: env.hostArch,
      advertiseUrl,
      heartbeatIntervalMs,
      dialOut,
      join:
        values.server !== undefined && joinToken !== undefined
          ? { serverUrl: values.server, token: joinToken }
          : undefined,
    },
    adapters,
    { version: await agentVersion(), tokenHashes, log, restart: () => upgraded() },
  );

  await agent.start().catch((error: unknown) => {
    if (error instanceof ListenError) throw new UsageError(`--listen ${error.message}`);
    throw error instanceof DialOutError ? new UsageError(error.message) : error;
  });
  // Joined: the token is spent, and the file must not outlive it.
  if (joining && values['join-token-file'] !== undefined)
    await rm(values['join-token-file'], { force: true });

  const signal = await stopSignal;
  log({ event: 'stopping', signal });
  await agent.stop();
  log({ event: 'stopped' });
  if (signal !== 'upgraded') return 0;
  if (env.underSystemd) return RESTART_EXIT_STATUS;
  const pid = await startAgain(adapters.install!.launcher, process.argv.slice(2));
  await handOverPidFile(join(values['state-dir'] ?? env.stateDir, 'agent.pid'), pid);
  log({ event: 'restarted', pid });
  return 0;
}

/** The exit status after an upgrade under systemd: not 0, so that `Restart=on-failure` starts the new version. */
export const RESTART_EXIT_STATUS = 3;

/**
 * Without systemd (install.sh's background agent), the agent starts its successor itself: the
 * launcher through `current`, with the same arguments, environment and output, in a session of its own.
 */
async function startAgain(launcher: string, args: readonly string[]): Promise<number> {
  const child = spawn(launcher, args, { detached: true, stdio: ['ignore', 'inherit', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  child.unref();
  return child.pid!;
}

/** install.sh's `agent.pid` names the agent it started: when it named this one, it names the new one now. */
async function handOverPidFile(file: string, pid: number): Promise<void> {
  const named = await readFile(file, 'utf8').catch(() => undefined);
  if (named?.trim() !== String(process.pid)) return;
  await writeFile(`${file}.new`, `${pid}\n`, { mode: 0o600 });
  await rename(`${file}.new`, file);
}

/**
 * The join token from --join-token or --join-token-file. The file goes once the join succeeded, and
 * the service keeps the option: an agent that has joined starts without it.
 */
async function readJoinToken(
  inline: string | undefined,
  file: string | undefined,
  linked: boolean,
): Promise<string | undefined> {
  if (inline !== undefined && file !== undefined)
    throw new UsageError('Give --join-token or --join-token-file, not both.');
  if (file === undefined) return inline;
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' && linked) return undefined;
    throw new UsageError(
      error.code === 'ENOENT'
        ? `--join-token-file ${file} does not exist and this agent has not joined a control plane yet: run the install line again with a new code, or write a join token to the file.`
        : `--join-token-file ${file}: ${error.message}`,
    );
  });
  if (text === undefined) return undefined;
  const token = text.trim();
  if (!token) throw new UsageError(`--join-token-file ${file} is empty: write the join token to it.`);
  return token;
}

/**
 * Where to listen and what to advertise. With a control plane and no --listen, the agent listens on
 * the address of the interface that routes to it: 127.0.0.1 would send every job to the control
 * plane's own loopback. A wildcard --listen advertises that address too.
 */
async function listenAndAdvertise(
  listenOption: string | undefined,
  advertiseOption: string | undefined,
  serverUrl: string | undefined,
  tls: boolean,
): Promise<{ listen: { host: string; port: number }; advertiseUrl: string | undefined }> {
  const route = async () => {
    try {
      return await localAddressToward(serverUrl!);
    } catch (error) {
      throw new UsageError(
        `Cannot tell which address of this host reaches ${serverUrl} (${(error as Error).message}): give --listen HOST:PORT and --advertise-url URL.`,
      );
    }
  };
  if (listenOption === undefined) {
    const host = serverUrl === undefined ? '127.0.0.1' : await route();
    return { listen: { host, port: DEFAULT_PORT }, advertiseUrl: advertiseOption };
  }
  const listen = parseListen(listenOption);
  if (advertiseOption !== undefined || serverUrl === undefined || !isWildcard(listen.host))
    return { listen, advertiseUrl: advertiseOption };
  return { listen, advertiseUrl: `${tls ? 'https' : 'http'}://${urlHost(await route())}:${listen.port}` };
}

const DEFAULT_PORT = 7475;

/**
 * Where the token comes from, in order: file, environment, the hashes kept from before (with the one
 * a credential rotation replaced, until the new token is used), a new one.
 */
async function resolveTokenHashes(
  store: StateStore,
  tokenFile: string | undefined,
  envToken: string | undefined,
  joining: boolean,
): Promise<TokenHashes> {
  if (tokenFile !== undefined) {
    const text = await readFile(tokenFile, 'utf8').catch((error: Error) => {
      throw new UsageError(`--token-file ${tokenFile}: ${error.message}`);
    });
    return remember(store, validateToken(text.trim(), tokenFile));
  }
  if (envToken !== undefined) return remember(store, validateToken(envToken, 'BINFLEET_AGENT_TOKEN'));
  const kept = await store.readTokenHashes();
  if (kept !== undefined) return kept;
  const token = generateToken();
  const hashes = await remember(store, token);
  // Joining replaces it with the control plane's credential in a moment: nothing to show.
  if (joining) return hashes;
  // The one time this token is ever shown: only its hash is kept.
  log({
    event: 'token-generated',
    token,
    message: `New API token; it is shown only now (the agent keeps its hash in ${store.tokenFile}). Delete that file to make a new one.`,
  });
  return hashes;
}

/** Keeping the hash lets a restart without --token-file go on accepting the same token. */
async function remember(store: StateStore, token: string): Promise<TokenHashes> {
  const hashes = { hash: hashToken(token) };
  await store.writeTokenHashes(hashes);
  return hashes;
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
