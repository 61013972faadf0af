import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import os from 'node:os';
import type { HostOs, ProcessResult } from './host-os.ts';

/** Output beyond this is dropped: a probe prints one word, `--version` two lines. */
const OUTPUT_LIMIT = 64 * 1024;

export const nodeHostOs: HostOs = {
  hostname: () => os.hostname(),
  machine: () => os.machine(),
  kernelRelease: () => os.release(),
  ownExecutables: () => [process.execPath, '/bin/sh'],

  async readText(path) {
    return readFile(path, 'utf8').catch(() => undefined);
  },

  // Synchronous on purpose: a stat of a local file answers in microseconds, a thread-pool round trip
  // per file cost more than that (an apply checks every emulator, a heartbeat too).
  async fileFacts(path) {
    let s;
    try {
      s = statSync(path, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
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
