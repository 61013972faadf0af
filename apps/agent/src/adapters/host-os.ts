export interface FileFacts {
  readonly isFile: boolean;
  /** Permission bits, as in stat(2) st_mode & 0o7777. */
  readonly mode: number;
  readonly mtimeMs: number;
  readonly size: number;
}

export interface ProcessResult {
  /** undefined when the process was killed by a signal or never started. */
  readonly exitCode?: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** errno code when the program could not be started, e.g. ENOEXEC when no binfmt entry takes it. */
  readonly spawnError?: string;
}

/**
 * The operating-system facts the agent reads outside binfmt_misc, behind one interface so that
 * tests fake a host instead of patching node:os or node:fs.
 */
export interface HostOs {
  hostname(): string;
  /** `uname -m`. */
  machine(): string;
  kernelRelease(): string;
  /**
   * Programs of the host itself (the running interpreter, /bin/sh): a binfmt entry whose magic takes
   * them would send the host's own programs through an emulator.
   */
  ownExecutables(): readonly string[];
  /** A file's text, or undefined when it does not exist or cannot be read. */
  readText(path: string): Promise<string | undefined>;
  /** stat(2) following symlinks, or undefined when there is nothing there. */
  fileFacts(path: string): Promise<FileFacts | undefined>;
  /** The path with every symlink resolved, or undefined when there is nothing there. */
  realPath(path: string): string | undefined;
  /**
   * Calls `onChange` whenever something in one of `directories` changes (a file created, removed,
   * renamed, written or chmod-ed; the watch itself failing), until the returned stop(). Undefined
   * when one of them cannot be watched: the caller then reads the files every time.
   */
  watchDirectories(directories: readonly string[], onChange: () => void): (() => void) | undefined;
  /** Up to `bytes` bytes from the start of a file, or undefined when it cannot be read. */
  readHead(path: string, bytes: number): Promise<Uint8Array | undefined>;
  /** Runs a program directly (no shell), killing it after `timeoutMs`; never rejects. */
  run(path: string, args: readonly string[], timeoutMs: number): Promise<ProcessResult>;
  /**
   * Runs each program with the same arguments, one after the other, each killed after `timeoutMs`;
   * their results in the same order (stdout and the exit status; stderr is not kept). Never rejects.
   * One process started from here for all of them: the emulators' `--version` at an agent's start
   * was 31 forks of the agent.
   */
  runEach(
    paths: readonly string[],
    args: readonly string[],
    timeoutMs: number,
    options?: RunOptions,
  ): Promise<ProcessResult[]>;
}

export interface RunOptions {
  /** At the lowest CPU priority (nice 19), so that the host's own work, and the agent's, go first. */
  readonly background?: boolean;
}
