import { spawn } from 'node:child_process';
import { open, readFile, stat } from 'node:fs/promises';
import os from 'node:os';

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
  /** A file's text, or undefined when it does not exist or cannot be read. */
  readText(path: string): Promise<string | undefined>;
  /** stat(2) following symlinks, or undefined when there is nothing there. */
  fileFacts(path: string): Promise<FileFacts | undefined>;
  /** Up to `bytes` bytes from the start of a file, or undefined when it cannot be read. */
  readHead(path: string, bytes: number): Promise<Uint8Array | undefined>;
  /** Runs a program directly (no shell), killing it after `timeoutMs`; never rejects. */
  run(path: string, args: readonly string[], timeoutMs: number): Promise<ProcessResult>;
}

/** Output beyond this is dropped: a probe prints one word, `--version` two lines. */
const OUTPUT_LIMIT = 64 * 1024;

export const nodeHostOs: HostOs = {
  hostname: () => os.hostname(),
  machine: () => os.machine(),
  kernelRelease: () => os.release(),

  async readText(path) {
    return readFile(path, 'utf8').catch(() => undefined);
  },

  async fileFacts(path) {
    const s = await stat(path).catch(() => undefined);
    return s && { isFile: s.isFile(), mode: s.mode & 0o7777, mtimeMs: s.mtimeMs, size: s.size };
  },

  async readHead(path, bytes) {
    const handle = await open(path, 'r').catch(() => undefined);
    if (!handle) return undefined;
    try {
      const buffer = new Uint8Array(bytes);
      const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
      return buffer.subarray(0, bytesRead);
    } catch {
      return undefined;
    } finally {
      await handle.close();
    }
  },

  run: runProcess,
};

function runProcess(path: string, args: readonly string[], timeoutMs: number): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout = collect(child.stdout);
    const stderr = collect(child.stderr);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ stdout: stdout(), stderr: stderr(), timedOut, spawnError: error.code ?? error.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ...(code === null ? {} : { exitCode: code }), stdout: stdout(), stderr: stderr(), timedOut });
    });
  });
}

function collect(stream: NodeJS.ReadableStream): () => string {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    if (text.length < OUTPUT_LIMIT) text += chunk.slice(0, OUTPUT_LIMIT - text.length);
  });
  return () => text;
}
