import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { realpathSync, statSync, watch, type FSWatcher } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import os from 'node:os';
import type { HostOs, ProcessResult, RunOptions } from './host-os.ts';

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

  realPath(path) {
    try {
      return realpathSync(path);
    } catch {
      return undefined;
    }
  },

  // inotify, one watch per directory; not keeping the agent alive by itself.
  watchDirectories(directories, onChange) {
    const watchers: FSWatcher[] = [];
    const stop = () => watchers.forEach((w) => w.close());
    try {
      for (const directory of directories) {
        const watcher = watch(directory, { persistent: false }, () => onChange());
        // A watch that broke sees nothing more: taken as a change, so the next read goes to the files.
        watcher.on('error', () => onChange());
        watchers.push(watcher);
      }
    } catch {
      stop();
      return undefined;
    }
    return stop;
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
  runEach,
};

/** A shell word for `arg`: single-quoted, its own single quotes written as '\''. */
const shellQuote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;

/**
 * One /bin/sh runs the programs in turn (the paths are its positional parameters, never part of the
 * script) and prints a line with a marker of this call and the exit status after each; a program that
 * outlives `timeoutMs` is killed with the shell (its own process group), and those after it run one
 * by one. Without a shell to start, each runs on its own.
 */
async function runEach(
  paths: readonly string[],
  args: readonly string[],
  timeoutMs: number,
  options: RunOptions = {},
): Promise<ProcessResult[]> {
  if (paths.length === 0) return [];
  const marker = `binfleet-${randomBytes(8).toString('hex')}`;
  // In the background the shell waits for a line on stdin, sent once its priority is lowered: the
  // programs it starts inherit that priority, the first one too.
  const script =
    (options.background ? 'read -r _; ' : '') +
    `for p; do "$p" ${args.map(shellQuote).join(' ')} </dev/null 2>/dev/null; printf '\\n%s %s\\n' "$0" $?; done`;
  const results: ProcessResult[] = [];
  const ended = await new Promise<{ spawnError?: string; timedOut: boolean }>((resolve) => {
    const child = spawn('/bin/sh', ['-c', script, marker, ...paths], {
      stdio: [options.background ? 'pipe' : 'ignore', 'pipe', 'ignore'],
      detached: true,
    });
    if (options.background) {
      lowestPriority(child.pid);
      child.stdin!.on('error', () => undefined);
      child.stdin!.end('\n');
    }
    let text = '';
    let timedOut = false;
    const separator = new RegExp(`\\n${marker} (\\d+)\\n`);
    const kill = () => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Gone already.
      }
    };
    let timer = setTimeout(kill, timeoutMs);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      text += chunk;
      for (let m = separator.exec(text); m; m = separator.exec(text)) {
        results.push({
          stdout: text.slice(0, Math.min(m.index, OUTPUT_LIMIT)),
          stderr: '',
          exitCode: Number(m[1]),
          timedOut: false,
        });
        text = text.slice(m.index + m[0].length);
        clearTimeout(timer);
        timer = setTimeout(kill, timeoutMs);
      }
      // A program printing without end is cut off as run() does; the marker still ends its part.
      if (text.length > 2 * OUTPUT_LIMIT) text = text.slice(0, OUTPUT_LIMIT) + text.slice(-1024);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ spawnError: error.code ?? error.message, timedOut });
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ timedOut });
    });
  });
  if (ended.spawnError !== undefined && results.length === 0)
    return Promise.all(paths.map((path) => runProcess(path, args, timeoutMs, options)));
  // The one running when time ran out timed out; the rest (or all left after a shell that ended
  // early) run on their own.
  if (ended.timedOut && results.length < paths.length)
    results.push({ stdout: '', stderr: '', timedOut: true });
  for (const path of paths.slice(results.length))
    results.push(await runProcess(path, args, timeoutMs, options));
  return results;
}

/** nice 19 for a process just started (a priority it cannot take is left as it is). */
function lowestPriority(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    os.setPriority(pid, 19);
  } catch {
    // Gone already, or not ours to change: it runs at the agent's priority.
  }
}

function runProcess(
  path: string,
  args: readonly string[],
  timeoutMs: number,
  options: RunOptions = {},
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (options.background) lowestPriority(child.pid);
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
