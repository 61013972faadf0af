import { isEntryName } from '@binfleet/arch-table';
import {
  accessSync,
  closeSync,
  constants,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AgentError } from '../errors.ts';
import { DEFAULT_MOUNT_POINT, type BinfmtFs } from './binfmt-fs.ts';

const run = promisify(execFile);

export class KernelBinfmtFs implements BinfmtFs {
  constructor(readonly mountPoint: string = DEFAULT_MOUNT_POINT) {}

  /**
   * The shell command that mounts a private binfmt_misc instance inside a new user + mount namespace
   * (Linux >= 6.7 gives each user namespace its own), for a holder process to run there.
   */
  static readonly privateMountCommand = `mount -t binfmt_misc binfmt_misc ${DEFAULT_MOUNT_POINT}`;

  /** The private instance a holder process mounted with privateMountCommand, reached from outside. */
  static ofNamespaceHolder(pid: number): KernelBinfmtFs {
    return new KernelBinfmtFs(`/proc/${pid}/root${DEFAULT_MOUNT_POINT}`);
  }

  // Synchronous, like every read and write here (see readFileOrUndefined): each apply asks several times.
  async isMounted(): Promise<boolean> {
    try {
      return statSync(`${this.mountPoint}/register`, { throwIfNoEntry: false })?.isFile() ?? false;
    } catch {
      return false;
    }
  }

  async mount(): Promise<void> {
    if (await this.isMounted()) return;
    try {
      await run('mount', ['-t', 'binfmt_misc', 'binfmt_misc', this.mountPoint]);
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
      throw new AgentError(
        'NOT_MOUNTED',
        `binfmt_misc is not mounted at ${this.mountPoint} and mounting it failed (${stderr || 'mount failed'}). ` +
          `Run as root: mount -t binfmt_misc binfmt_misc ${this.mountPoint} (or modprobe binfmt_misc first); ` +
          "in a container, run it --privileged or mount the host's binfmt_misc into it.",
      );
    }
  }

  async unmount(): Promise<void> {
    if (!(await this.isMounted())) return;
    try {
      await run('umount', [this.mountPoint]);
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
      throw new AgentError(
        'PERMISSION_DENIED',
        `Unmounting binfmt_misc at ${this.mountPoint} failed (${stderr || 'umount failed'}): run umount ${this.mountPoint} as root.`,
      );
    }
  }

  async isWritable(): Promise<boolean> {
    try {
      accessSync(`${this.mountPoint}/register`, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }

  async isEnabled(): Promise<boolean> {
    const text = await this.readFileOrUndefined('status');
    return text?.trim() === 'enabled';
  }

  async list(): Promise<string[]> {
    await this.requireMounted();
    const names = readdirSync(this.mountPoint);
    return names.filter((n) => n !== 'register' && n !== 'status').sort();
  }

  async read(name: string): Promise<string | undefined> {
    return this.readFileOrUndefined(checkName(name));
  }

  async register(line: string): Promise<void> {
    // The name, for messages: the first field, between the line's delimiter and its next one.
    const end = line.indexOf(line[0] ?? ':', 1);
    const entry = line.slice(1, end < 0 ? undefined : end);
    const batch = this.batch;
    if (!batch) return this.write('register', line, entry);
    try {
      batch.register ??= openSync(`${this.mountPoint}/register`, WRITE_ONLY);
      writeSync(batch.register, line);
    } catch (error) {
      throw await this.writeError(error, batch.register === undefined, entry);
    }
  }

  /**
   * `register` opened once for the registrations `fn` makes, and closed when it ends (held open, it
   * would keep binfmt_misc from being unmounted). Each line is still one write(2) of its own.
   */
  async batched<T>(fn: () => Promise<T>): Promise<T> {
    if (this.batch) return fn();
    const batch: { register?: number } = {};
    this.batch = batch;
    try {
      return await fn();
    } finally {
      this.batch = undefined;
      if (batch.register !== undefined) closeSync(batch.register);
    }
  }

  private batch: { register?: number } | undefined;

  async setEnabled(name: string, enabled: boolean): Promise<void> {
    await this.write(checkName(name), enabled ? '1' : '0', name);
  }

  async remove(name: string): Promise<void> {
    await this.write(checkName(name), '-1', name);
  }

  private async requireMounted(): Promise<void> {
    if (!(await this.isMounted())) {
      throw new AgentError(
        'NOT_MOUNTED',
        `binfmt_misc is not mounted at ${this.mountPoint}: run \`binfleet-agent register\` (it mounts it) or ` +
          `mount -t binfmt_misc binfmt_misc ${this.mountPoint} as root.`,
      );
    }
  }

  // Synchronous on purpose: these are in-memory kernel files that answer in microseconds, and the
  // promise round trips of fs/promises made a 31-entry reset several times slower than systemd-binfmt.
  private async readFileOrUndefined(file: string): Promise<string | undefined> {
    try {
      return readSmallFile(`${this.mountPoint}/${file}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw translate(error, this.mountPoint, file);
      await this.requireMounted();
      return undefined;
    }
  }

  /** One write(2) of the whole text: the kernel parses each write as one command. */
  private async write(file: string, text: string, entry: string): Promise<void> {
    let fd: number | undefined;
    try {
      fd = openSync(`${this.mountPoint}/${file}`, WRITE_ONLY);
      writeSync(fd, text);
    } catch (error) {
      throw await this.writeError(error, fd === undefined, entry);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** The AgentError of a failed open (`opening`) or write of an entry's file or `register`. */
  private async writeError(error: unknown, opening: boolean, entry: string): Promise<AgentError> {
    if (opening && (error as NodeJS.ErrnoException).code === 'ENOENT') {
      await this.requireMounted();
      return new AgentError(
        'ENTRY_NOT_FOUND',
        `There is no binfmt_misc entry ${entry}: see \`binfleet-agent status\`.`,
      );
    }
    return translate(error, this.mountPoint, entry);
  }
}

/**
 * binfmt_misc's files exist or the write is refused: opened without 'w''s O_CREAT (a lookup that locks
 * the directory) and O_TRUNC (a size change the kernel then makes and ignores).
 */
const WRITE_ONLY = constants.O_WRONLY;

/** Entry files are a few hundred bytes: one buffer for all, and no fstat as readFileSync does. */
const readBuffer = Buffer.alloc(4096);

function readSmallFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const n = readSync(fd, readBuffer, 0, readBuffer.length, 0);
    return n < readBuffer.length ? readBuffer.toString('utf8', 0, n) : readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function checkName(name: string): string {
  if (!isEntryName(name)) {
    throw new AgentError('INVALID_INPUT', `"${name.slice(0, 64)}" is not a binfmt_misc entry name.`);
  }
  return name;
}

function translate(error: unknown, mountPoint: string, entry: string): AgentError {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EEXIST':
      return new AgentError(
        'ENTRY_EXISTS',
        `Entry ${entry} already exists with other settings: use --reset (or --force) to replace it, or remove it first.`,
      );
    case 'EINVAL':
      return new AgentError(
        'KERNEL_REJECTED',
        `The kernel rejected the registration of ${entry} (EINVAL). If it asks for a flag the kernel does not ` +
          'know (F needs Linux 4.8, P 4.12), upgrade the kernel or register without it.',
      );
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new AgentError(
        'PERMISSION_DENIED',
        `Not allowed to change ${mountPoint} (${code}). Run as root; in a container use --privileged; ` +
          'a rootless or user-namespaced binfmt_misc only affects that namespace.',
      );
    case 'ENOENT':
      return new AgentError(
        'INTERPRETER_MISSING',
        `The kernel could not open the interpreter of ${entry} (ENOENT): with F (persistent) it must exist when ` +
          'registering; install it (qemu-user-static) or fix --qemu-path.',
      );
    default:
      return new AgentError('INTERNAL', `binfmt_misc ${entry || mountPoint}: ${(error as Error).message}`);
  }
}
