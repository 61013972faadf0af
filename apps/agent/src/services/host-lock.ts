import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError } from '../errors.ts';

/** tmpfs on systemd hosts: emptied at boot, like the kernel's binfmt_misc entries it guards. */
export const DEFAULT_LOCK_DIR = '/run/binfleet';

/** What the lock file says about its holder, for the message a waiting process gives. */
export interface HostLockHolder {
  readonly pid: number;
  readonly command: string;
  readonly label: string;
  readonly startedAt: string;
}

export type ReleaseHostLock = () => Promise<void>;

/**
 * One change to binfmt_misc at a time across processes: `binfleet-agent serve` and a one-shot
 * `binfleet-agent register` (or remove/enable/disable) beside it on the same host.
 *
 * "The same host" is the same binfmt_misc instance. Linux (>= 6.7) has one per user namespace (a
 * mount inside a new user namespace gets a private one; before 6.7 there is one per machine and only
 * the initial namespace may write it), whatever path it is mounted on. So the lock file is named
 * after the process's user namespace: processes that change the same entries share it, agents in
 * separate sandboxes (each its own user namespace) never wait for each other, and two mount points
 * of one instance are still one lock.
 *
 * The lock is flock(2) on that file. Node has no flock, so a `flock` child (util-linux, on every
 * Debian system) takes it and holds it while its stdin, a pipe from this process, is open. When this
 * process ends in any way, SIGKILL included, the kernel closes the pipe, the child exits and the lock
 * is free: no pid files to judge stale, no pid reuse to guess about. The file's content only names
 * the holder, for the message of whoever has to wait.
 */
export class HostLock {
  constructor(
    readonly file: string,
    private readonly command: string = commandLine(),
  ) {}

  /** The lock for this process's binfmt_misc instance, in `dir` (created root-only if missing). */
  static forThisNamespace(dir: string = DEFAULT_LOCK_DIR): HostLock {
    ensurePrivateDir(dir);
    return new HostLock(join(dir, `binfmt-${userNamespaceId()}.lock`));
  }

  /**
   * Takes the lock, waiting up to `waitMs` for the process holding it. Rejects with BUSY naming
   * that process (pid, command, operation, since when) and what to do.
   */
  acquire(label: string, waitMs: number): Promise<ReleaseHostLock> {
    const wait = waitMs <= 0 ? ['--nonblock'] : ['--timeout', (waitMs / 1000).toFixed(3)];
    const child = spawn(
      'flock',
      ['--exclusive', ...wait, '--conflict-exit-code', '75', this.file, 'sh', '-c', 'echo locked && read _'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    return new Promise<ReleaseHostLock>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let held = false;
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        if (held || !stdout.includes('locked')) return;
        held = true;
        try {
          this.writeHolder({
            pid: process.pid,
            command: this.command,
            label,
            startedAt: new Date().toISOString(),
          });
        } catch (error) {
          child.stdin.end();
          reject(lockFileError(this.file, error));
          return;
        }
        resolve(async () => {
          // Cleared while still held: a stale name must not show up in someone else's message.
          try {
            writeFileSync(this.file, '');
          } catch {
            // The lock goes anyway; only the name would linger.
          }
          child.stdin.end();
          await exited;
        });
      });
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new AgentError(
            'INTERNAL',
            error.code === 'ENOENT'
              ? 'The `flock` command (util-linux) is missing: install util-linux; the agent locks binfmt_misc with it.'
              : `Could not run flock for ${this.file}: ${error.message}`,
          ),
        ),
      );
      void exited.then((code) => {
        if (held) return;
        // Our end of its stdin would keep this process alive (a refused CLI would never exit).
        child.stdin.destroy();
        if (code === 75) reject(this.busyError(label));
        else reject(lockFileError(this.file, new Error(stderr.trim() || `flock exited with ${code}`)));
      });
    });
  }

  /** The recorded holder, if the file names one. */
  holder(): HostLockHolder | undefined {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<HostLockHolder>;
      return typeof parsed.pid === 'number' ? (parsed as HostLockHolder) : undefined;
    } catch {
      return undefined;
    }
  }

  private writeHolder(holder: HostLockHolder): void {
    writeFileSync(this.file, JSON.stringify(holder) + '\n');
  }

  private busyError(label: string): AgentError {
    const h = this.holder();
    const who = h
      ? `process ${h.pid} (${h.command}) is running "${h.label}" since ${h.startedAt}`
      : `another process holds ${this.file}`;
    const kill = h ? ` If it hangs, stop it (kill ${h.pid}) and retry.` : '';
    return new AgentError(
      'BUSY',
      `Cannot ${label} now: ${who} on this host's binfmt_misc. Wait for it to finish and retry.${kill}`,
      {
        running: h?.label ?? null,
        pid: h?.pid ?? null,
        command: h?.command ?? null,
        startedAt: h?.startedAt ?? null,
      },
    );
  }
}

/** The user namespace's inode number: one binfmt_misc instance each. */
export function userNamespaceId(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/user'))?.[1] ?? 'initial';
  } catch {
    return 'initial';
  }
}

/**
 * Anyone who can open the lock file can take it, so the directory belongs to this user alone:
 * a local user must not be able to hold the agent off binfmt_misc, nor plant a symlink there.
 */
function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw lockFileError(dir, error);
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.() ?? st.uid;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new AgentError(
      'PERMISSION_DENIED',
      `The lock directory ${dir} must be a directory owned by this user (uid ${uid}) that no one else can write: fix it or remove it (it is recreated), or set BINFLEET_LOCK_DIR.`,
    );
  }
}

function lockFileError(path: string, error: unknown): AgentError {
  const code = (error as NodeJS.ErrnoException).code;
  const denied = code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
  return new AgentError(
    denied ? 'PERMISSION_DENIED' : 'INTERNAL',
    `Cannot use the binfmt_misc lock ${path}: ${(error as Error).message}. ${
      denied
        ? 'Run as root, or set BINFLEET_LOCK_DIR to a directory of yours.'
        : 'Check the directory and retry.'
    }`,
  );
}

/** `binfleet-agent register --reset -p yes`: how this process was started, for other processes' messages. */
function commandLine(): string {
  const secret = /token|password|secret/i;
  const args = process.argv.slice(2).map((a, i, all) => {
    // `--join-token X` or `--join-token=X`: the name stays, the value never reaches the file.
    if (i > 0 && secret.test(all[i - 1]!) && all[i - 1]!.startsWith('--') && !all[i - 1]!.includes('='))
      return '***';
    if (a.startsWith('--') && a.includes('=') && secret.test(a.split('=')[0]!))
      return `${a.split('=')[0]}=***`;
    return /^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a);
  });
  const line = ['binfleet-agent', ...args].join(' ');
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}
