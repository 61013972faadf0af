import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants as fsConstants,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import { AgentError } from '../errors.ts';
import type { HostLock, ReleaseHostLock } from './host-lock.ts';

/** tmpfs on systemd hosts: emptied at boot, like the kernel's binfmt_misc entries it guards. */
export const DEFAULT_LOCK_DIR = '/run/binfleet';

/** What a program that cannot start (ELOOP) here most likely means, and what to do. */
const NATIVE_ENTRY_ADVICE =
  "If a binfmt_misc entry matches this host's own programs (one registered with --force-native), every program started here goes to its emulator: remove that entry (`binfleet-agent remove ARCH`) and retry.";

/** What the lock file says about its holder, for the message a waiting process gives. */
export interface HostLockHolder {
  readonly pid: number;
  readonly command: string;
  readonly label: string;
  readonly startedAt: string;
}

/**
 * The helper that holds the flock, run as `perl -e HELPER <lock file> <EWOULDBLOCK>`. One request a
 * line, one answer a line:
 *   `lock <seconds>`  opens the file afresh and tries flock(2) on it until it gets it or that long
 *                     has passed (0: once): `locked`, `busy`, or `failed <error>`;
 *   `unlock`          closes the file, which frees the lock: `unlocked`.
 * It reads until EOF, which comes as soon as the agent ends, however it ends. Perl (perl-base, on
 * every Debian system) calls flock(2) itself: a shell would start util-linux `flock`, a process per
 * lock (~2-6 ms), more than the binfmt_misc changes the lock guards.
 *
 * It loads no module: `use Fcntl` (for LOCK_EX and LOCK_NB) and `%!` (Errno, for EWOULDBLOCK) made
 * perl's start ~8-10 ms instead of ~2 ms, which every CLI command that changes binfmt_misc waited
 * for. LOCK_EX (2) and LOCK_NB (4) are the same on every Linux architecture (asm-generic/fcntl.h,
 * which none overrides); the errno number comes from Node's own table for this host.
 */
const HELPER = `$| = 1; my $fh; my $busy = $ARGV[1];
while (my $line = <STDIN>) {
  my ($op, $secs) = split ' ', $line;
  if ($op eq 'lock') {
    close $fh if $fh;
    unless (open $fh, '>>', $ARGV[0]) { print "failed $!\n"; undef $fh; next }
    my ($got, $tries) = (0, int($secs * 100));
    until (($got = flock $fh, 2 | 4) || $! != $busy || $tries-- <= 0) {
      select undef, undef, undef, 0.01;
    }
    print $got ? "locked\n" : $! == $busy ? "busy\n" : "failed $!\n";
  } elsif ($op eq 'unlock') {
    close $fh if $fh; undef $fh;
    print "unlocked\n";
  }
}`;

/**
 * The longest single wait inside the helper. A helper whose agent died while it waited notices
 * (EOF) only after that wait, so it may outlive the agent by this much; it never holds the lock
 * then, because its answer meets a closed pipe and it exits.
 */
const WAIT_SLICE_MS = 1000;

interface Helper {
  readonly child: ChildProcessWithoutNullStreams;
  readonly answers: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }>;
  readonly closed: Promise<void>;
  stderr: string;
  /** Why it is gone, once it is. */
  ended?: AgentError;
}

/**
 * The HostLock of a real host. Processes share it when they change the same binfmt_misc instance:
 * Linux (>= 6.7) has one per user namespace (a mount inside a new user namespace gets a private one;
 * before 6.7 there is one per machine and only the initial namespace may write it), whatever path it
 * is mounted on. So the lock file is named after the process's user namespace: processes that
 * change the same entries share it, agents in separate sandboxes (each its own user namespace) never
 * wait for each other, and two mount points of one instance are still one lock.
 *
 * The lock is flock(2) on that file. Node has no flock, so a helper (perl, on every Debian system)
 * takes it on its own file descriptor. The helper starts on first use and stays for the next
 * operations: starting a process from Node costs several milliseconds, more than the binfmt_misc
 * changes the lock guards. It reads its requests from a pipe from this process;
 * when this process ends in any way, SIGKILL included, the kernel closes the pipe, the helper exits
 * and the lock is free: no pid files to judge stale, no pid reuse to guess about. The file's content
 * only names the holder, for the message of whoever has to wait.
 */
export class FlockHostLock implements HostLock {
  private helper: Helper | undefined;
  /** Settles when the last caller of this object is done with the lock. */
  private turn: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly command: string = commandLine(),
  ) {}

  /** The lock for this process's binfmt_misc instance, in `dir` (created root-only if missing). */
  static forThisNamespace(dir: string): FlockHostLock {
    ensurePrivateDir(dir);
    return new FlockHostLock(join(dir, `binfmt-${userNamespaceId()}.lock`));
  }

  /**
   * Takes the lock, waiting up to `waitMs` for the process holding it. Rejects with BUSY naming
   * that process (pid, command, operation, since when) and what to do.
   */
  async acquire(label: string, waitMs: number): Promise<ReleaseHostLock> {
    const deadline = Date.now() + Math.max(0, waitMs);
    // Callers of one object take turns: they share the helper's one file descriptor, on which a
    // second flock would succeed at once.
    const previous = this.turn;
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    this.turn = previous.then(() => mine);
    let helper: Helper;
    try {
      if (!(await settlesBy(previous, deadline))) throw this.busyError(label);
      helper = await this.lock(label, deadline);
    } catch (error) {
      done();
      throw error;
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      // Cleared while still held: a stale name must not show up in someone else's message.
      try {
        writeFileSync(this.file, '');
      } catch {
        // The lock goes anyway; only the name would linger.
      }
      // A helper that has died took the lock with it.
      if (this.helper === helper) await this.ask(helper, 'unlock').catch(() => undefined);
      done();
    };
  }

  /**
   * Starts the helper now, so that it is ready when `acquire` asks (perl's start overlaps the caller's
   * work until then). Takes no lock; a helper that fails to start is reported by `acquire`.
   */
  prepare(): void {
    this.helper ??= this.startHelper();
  }

  /**
   * Stops the helper once the operation holding the lock through this object (if any) is done, so
   * that none loses the lock halfway. The next `acquire` would start a new one.
   */
  async close(): Promise<void> {
    await this.turn;
    const helper = this.helper;
    if (helper === undefined) return;
    this.helper = undefined;
    // Kept alive until it is gone: callers count on no process being left.
    helper.child.ref();
    helper.child.stdin.end();
    await helper.closed;
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

  private async lock(label: string, deadline: number): Promise<Helper> {
    let helper = (this.helper ??= this.startHelper());
    for (let restarted = false; ;) {
      const slice = Math.min(WAIT_SLICE_MS, Math.max(0, deadline - Date.now()));
      let answer: string;
      try {
        answer = await this.ask(helper, `lock ${(slice / 1000).toFixed(3)}`);
      } catch (error) {
        // It died (killed, say), perhaps before this process even saw it end: one new one, once.
        if (restarted) throw error;
        restarted = true;
        helper = this.helper = this.startHelper();
        continue;
      }
      if (answer === 'locked') break;
      if (answer !== 'busy') throw this.lockFailure(answer, helper.stderr);
      if (Date.now() >= deadline) throw this.busyError(label);
    }
    try {
      this.writeHolder({
        pid: process.pid,
        command: this.command,
        label,
        startedAt: new Date().toISOString(),
      });
    } catch (error) {
      await this.ask(helper, 'unlock').catch(() => undefined);
      throw lockFileError(this.file, error);
    }
    return helper;
  }

  private startHelper(): Helper {
    // Its own session: a Ctrl-C meant for the agent must not drop the lock under an operation the
    // agent still finishes.
    const child = spawn(perlPath(), ['-e', HELPER, this.file, String(constants.errno.EWOULDBLOCK)], {
      stdio: 'pipe',
      detached: true,
    });
    const helper: Helper = {
      child,
      answers: [],
      closed: new Promise((resolve) => child.once('close', () => resolve())),
      stderr: '',
    };
    let spawnError: NodeJS.ErrnoException | undefined;
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        helper.answers.shift()?.resolve(pending.slice(0, end));
        pending = pending.slice(end + 1);
      }
      if (helper.answers.length === 0) (child.stdout as Socket).unref();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (helper.stderr = (helper.stderr + chunk).slice(-1000)));
    // Writing to a helper that just died fails here; 'close' below reports it.
    child.stdin.on('error', () => undefined);
    child.once('error', (error: NodeJS.ErrnoException) => (spawnError = error));
    child.once('close', (code, signal) => {
      if (this.helper === helper) this.helper = undefined;
      helper.ended = this.helperEnded(spawnError, code, signal, helper.stderr);
      for (const answer of helper.answers.splice(0)) answer.reject(helper.ended);
    });
    // Idle, it keeps no process alive: a one-shot command exits when done, and its helper with it.
    child.unref();
    (child.stdout as Socket).unref();
    (child.stderr as Socket).unref();
    return helper;
  }

  private ask(helper: Helper, request: string): Promise<string> {
    return new Promise((resolve, reject) => {
      if (helper.ended !== undefined) {
        reject(helper.ended);
        return;
      }
      helper.stderr = '';
      helper.answers.push({ resolve, reject });
      // Waiting for the answer keeps this process alive.
      (helper.child.stdout as Socket).ref();
      helper.child.stdin.write(`${request}\n`);
    });
  }

  private helperEnded(
    spawnError: NodeJS.ErrnoException | undefined,
    code: number | null,
    signal: NodeJS.Signals | null,
    stderr: string,
  ): AgentError {
    if (spawnError !== undefined)
      return new AgentError(
        'INTERNAL',
        `Could not start perl to lock ${this.file}: ${spawnError.message}${spawnError.code === 'ELOOP' ? `. ${NATIVE_ENTRY_ADVICE}` : ''}`,
      );
    const how = signal !== null ? `was killed by ${signal}` : `exited with ${code}`;
    const why = stderr.trim() ? ` (${stderr.trim()})` : '';
    return new AgentError(
      'INTERNAL',
      `The helper process that takes the binfmt_misc lock ${this.file} (perl) ${how}${why}. Retry: the next operation starts a new one.`,
    );
  }

  private lockFailure(answer: string, stderr: string): AgentError {
    // The helper only has perl's words for what went wrong; opening the file here gives the errno.
    try {
      closeSync(openSync(this.file, 'a'));
    } catch (error) {
      return lockFileError(this.file, error);
    }
    return lockFileError(this.file, new Error(stderr.trim() || answer.replace(/^failed /, 'flock: ')));
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

/**
 * perl's path, looked up on PATH by this process. Given a bare name, the forked child looks for it
 * itself, trying each PATH entry with an execve while it still shares this process's memory (copied
 * page by page as it goes): ~0.1-0.2 ms a miss. Not found: the bare name, and spawn's own error.
 */
function perlPath(): string {
  // PATH is where spawn would look (the process's own search path), not the agent's configuration.
  // eslint-disable-next-line no-restricted-properties
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir.startsWith('/')) continue;
    try {
      accessSync(join(dir, 'perl'), fsConstants.X_OK);
      return join(dir, 'perl');
    } catch {
      // not here
    }
  }
  return 'perl';
}

/** Whether `promise` settles before `deadline` (ms since the epoch). */
async function settlesBy(promise: Promise<void>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
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
  let st = lstatSync(dir, { throwIfNoEntry: false });
  if (st === undefined) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw lockFileError(dir, error);
    }
    st = lstatSync(dir);
  }
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
