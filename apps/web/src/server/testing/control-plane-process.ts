import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '../../../../..');
const ENTRY = join(REPO, 'apps/web/src/server/testing/serve-control-plane.ts');

export interface ControlPlaneProcess {
  readonly url: string;
  readonly pid: number;
  readonly output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** The control plane API + job runner as a real process (so a test can kill -9 it), on a free port by default. */
export async function startControlPlaneProcess(
  env: Record<string, string>,
  port = 0,
  /** The address to listen on: a test network's gateway for hosts in namespaces. */
  hostname = '127.0.0.1',
  /** Node options for the server process only, e.g. a bench's `--cpu-prof`. */
  nodeArgs: readonly string[] = [],
): Promise<ControlPlaneProcess> {
  const args = [...nodeArgs, '--import', 'tsx', ENTRY, String(port), hostname];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`control plane did not start:\n${output}`)), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output += line + '\n';
      try {
        const parsed = JSON.parse(line) as { event?: string; url?: string };
        if (parsed.event === 'listening' && parsed.url) {
          clearTimeout(timer);
          resolveUrl(parsed.url);
        }
      } catch {
        // not a JSON log line
      }
    });
    // 'close', not 'exit': by then its output has been read to the end, with the reason it stopped.
    child.once('close', (code) => reject(new Error(`control plane exited with ${code}:\n${output}`)));
  });
  return {
    url,
    pid: child.pid!,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
