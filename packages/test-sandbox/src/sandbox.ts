import { spawn as spawnChild, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { release } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where tools that hard-code the path (systemd-binfmt, update-binfmts) expect binfmt_misc. */
export const DEFAULT_MOUNT_POINT = '/proc/sys/fs/binfmt_misc';

export interface SandboxOptions {
  /** Existing directory to mount the private binfmt_misc on, as seen inside. Default DEFAULT_MOUNT_POINT. */
  mountPoint?: string;
  /**
   * A network namespace (`ip netns add NAME`) every command runs in: a host on a network of its own
   * (see network.ts). Default: the machine's network.
   */
  netns?: string;
  /** A UTS namespace with this hostname for every command, so an agent reports a name of its own. */
  hostname?: string;
}

export interface ExecOptions {
  input?: string | Buffer;
  /** Added to the test process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Default: the test process's working directory (the sandbox shares the machine's files). */
  cwd?: string;
  /** The command's whole process group is killed and exec rejects after this long. Default 30 s. */
  timeoutMs?: number;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SandboxSpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdio?: StdioOptions;
}

/**
 * A user + mount namespace with its own binfmt_misc (Linux >= 6.7) and its own /run/binfleet. Registrations made inside apply
 * only to processes inside. Files, network (127.0.0.1) and process ids are shared with the machine.
 */
export interface Sandbox {
  /** The process that holds the namespaces; `nsenter --target` it to get in by other means. */
  readonly pid: number;
  /** The private binfmt_misc, as seen inside the sandbox. */
  readonly mountPoint: string;
  /**
   * The same binfmt_misc reached from the test process through /proc/PID/root: read it with node:fs.
   * Writing `register` here works too, but an F-flag interpreter is then opened in the test
   * process's mount namespace, not the sandbox's.
   */
  readonly hostMountPoint: string;
  /** Runs a command inside and collects its output. */
  exec(cmd: string, args?: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Starts a long-running command inside (e.g. an agent server); stop() kills it. */
  spawn(cmd: string, args?: readonly string[], opts?: SandboxSpawnOptions): ChildProcess;
  /** Kills every process inside; the namespaces, and with them the mount, disappear. Idempotent. */
  stop(): Promise<void>;
}

export type SandboxSupport = { supported: true } | { supported: false; reason: string };

let support: SandboxSupport | undefined;

/** Whether startSandbox() can work here; probed once (~10 ms), so tests can skip with the reason. */
export function hasSandboxSupport(): SandboxSupport {
  support ??= probeSupport();
  return support;
}

function probeSupport(): SandboxSupport {
  for (const tool of ['unshare', 'nsenter', 'bash']) {
    if (spawnSync(tool, ['--version']).error) {
      return { supported: false, reason: `${tool} not found; run \`bash scripts/test-deps.sh\` as root` };
    }
  }
  const probe = spawnSync(
    'unshare',
    [
      '--user',
      '--map-root-user',
      '--mount',
      'mount',
      '-t',
      'binfmt_misc',
      'binfmt_misc',
      DEFAULT_MOUNT_POINT,
    ],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) {
    return {
      supported: false,
      reason:
        `cannot mount a private binfmt_misc in a new user namespace (${probe.stderr.trim()}); ` +
        `it needs Linux >= 6.7 (this is ${release()}) with user namespaces enabled`,
    };
  }
  return { supported: true };
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const supported = hasSandboxSupport();
  if (!supported.supported) throw new Error(`binfmt_misc sandbox unavailable: ${supported.reason}`);
  const mountPoint = opts.mountPoint ?? DEFAULT_MOUNT_POINT;

  // No --fork: without a PID namespace, unshare execs sh itself, so this child's pid is the
  // namespace holder. `read` blocks on our stdin pipe: should the test process die without calling
  // stop(), the pipe closes and the holder exits instead of lingering.
  const holder = spawnChild(
    'unshare',
    [
      '--user',
      '--map-root-user',
      '--mount',
      // unshare's default for --mount, spelled out: the mount must never propagate to the machine.
      '--propagation',
      'private',
      'sh',
      '-c',
      // The machine's own binfmt_misc, when mounted, comes into the namespace locked under the mount
      // point: the sandbox cannot unmount it, and a test that unmounts the sandbox's binfmt_misc would
      // uncover it, for an agent inside (root, mapped to the machine's root) to register into. An
      // empty read-only tmpfs goes over it first, so below the private binfmt_misc there is only an
      // empty directory, as on a host without binfmt_misc mounted.
      'mount -t tmpfs -o ro,size=4k,mode=0555 binfleet-shield "$1" && ' +
        'mount -t binfmt_misc binfmt_misc "$1" && ' +
        // A sandbox is a host of its own, /run/binfleet (where agents lock binfmt_misc) included: a
        // private tmpfs there, gone with the namespace; only the empty directory stays on the machine.
        'mkdir -p -m 0700 /run/binfleet && ' +
        'mount -t tmpfs -o mode=0700,size=1m binfleet-run /run/binfleet && echo ready && read _',
      'sh',
      mountPoint,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  await untilReady(holder, mountPoint);
  const pid = holder.pid!;
  const namespaces = [readlinkSync(`/proc/${pid}/ns/user`), readlinkSync(`/proc/${pid}/ns/mnt`)];
  // Held open until stop() has killed everything inside: an open namespace file keeps the namespace,
  // and with it its number, after its last process. Freed, that number goes to the next namespace the
  // kernel makes (the lowest free one), another sandbox's in a test file running beside this one, and
  // stop()'s search by number would kill that sandbox's processes.
  const pins = ['user', 'mnt'].map((ns) => openSync(`/proc/${pid}/ns/${ns}`, 'r'));

  // --preserve-credentials: our uid 0 already maps to root inside, no need for nsenter's setuid and
  // setgroups (the latter is denied in a --map-root-user namespace). nsenter resets the working
  // directory to /, hence --wd. It starts the command with execvp(), which runs a file the kernel
  // refuses (ENOEXEC, e.g. a foreign binary with no binfmt entry) through /bin/sh, turning "exec
  // format error" into a shell syntax error; bash's `exec` reports ENOEXEC as it is.
  // `ip netns exec` joins the network namespace first (as the machine's root, who owns it), then
  // nsenter the user and mount namespaces; `unshare --uts` last, inside, to set the hostname.
  const enter = opts.netns ? ['ip', 'netns', 'exec', opts.netns, 'nsenter'] : ['nsenter'];
  const uts = opts.hostname
    ? ['unshare', '--uts', '--', 'sh', '-c', 'hostname "$0" && exec "$@"', opts.hostname]
    : [];
  const nsenterArgs = (cmd: string, args: readonly string[], cwd: string | undefined) => [
    ...enter.slice(1),
    '--target',
    String(pid),
    '--user',
    '--mount',
    '--preserve-credentials',
    `--wd=${cwd ?? process.cwd()}`,
    '--',
    'bash',
    '-c',
    'exec "$@"',
    'bash',
    ...uts,
    cmd,
    ...args,
  ];

  let stopped: Promise<void> | undefined;

  return {
    pid,
    mountPoint,
    hostMountPoint: `/proc/${pid}/root${mountPoint}`,

    exec(cmd, args = [], { input, env, cwd, timeoutMs = 30_000 } = {}) {
      // detached: its own process group, so a timeout also kills what the command started.
      const child = spawnChild(enter[0]!, nsenterArgs(cmd, args, cwd), {
        env: { ...process.env, ...env },
        detached: true,
      });
      return new Promise((resolve, reject) => {
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
        child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        const timer = setTimeout(() => {
          kill(-child.pid!);
          reject(new Error(`sandbox exec timed out after ${timeoutMs} ms: ${[cmd, ...args].join(' ')}`));
        }, timeoutMs);
        child.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          resolve({
            code,
            signal,
            stdout: Buffer.concat(stdout).toString(),
            stderr: Buffer.concat(stderr).toString(),
          });
        });
        // The command may exit without reading its input; that is not an error of ours.
        child.stdin.on('error', () => {});
        child.stdin.end(input);
      });
    },

    spawn(cmd, args = [], { env, cwd, stdio = 'pipe' } = {}) {
      return spawnChild(enter[0]!, nsenterArgs(cmd, args, cwd), { env: { ...process.env, ...env }, stdio });
    },

    stop() {
      stopped ??= killAll(pid, namespaces).finally(() => pins.forEach((fd) => closeSync(fd)));
      return stopped;
    },
  };
}

/** SIGKILLs a process (pid > 0) or a process group (-leader); one that is already gone is fine. */
function kill(target: number): void {
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    // It exited since we looked.
  }
}

function untilReady(holder: ChildProcess, mountPoint: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    holder.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
    holder.stdout!.once('data', () => resolve());
    holder.once('error', reject);
    holder.once('exit', (code) =>
      reject(
        new Error(`sandbox failed to mount binfmt_misc on ${mountPoint} (exit ${code}): ${stderr.trim()}`),
      ),
    );
  });
}

/**
 * Kills every process in the sandbox's user or mount namespace, found through /proc rather than
 * remembered, so commands that daemonized or left their process group go too. The mount exists only
 * in the sandbox's mount namespace, which the kernel frees with its last process.
 */
async function killAll(holderPid: number, namespaces: string[]): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const inside = processesIn(namespaces);
    if (inside.length === 0) return;
    for (const pid of inside) kill(pid);
    await sleep(100);
  }
  throw new Error(
    `sandbox ${holderPid}: processes ${processesIn(namespaces).join(', ')} survived SIGKILL for 5 s`,
  );
}

function processesIn(namespaces: string[]): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter(
      (pid) => ['user', 'mnt'].some((ns) => namespaces.includes(namespaceOf(pid, ns))) && !isZombie(pid),
    )
    .map(Number);
}

function namespaceOf(pid: string, ns: string): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return ''; // the process is gone
  }
}

/**
 * A killed process whose parent has not reaped it yet (e.g. a daemon reparented to the machine's init)
 * still shows the user namespace it held: it is dead, holds no mount and cannot be killed again.
 */
function isZombie(pid: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true; // gone altogether
  }
}
