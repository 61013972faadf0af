/**
 * The floor under the agent API's figure in bench/agent-register.ts: a bare Node HTTP server
 * (kernel-floor-server.mjs) doing the same kernel work as the agent's reset + register, in a sandbox of
 * its own, called the way the agent is (fetch, keep-alive, from this process).
 */
import { once } from 'node:events';
import { startSandbox, type Sandbox } from '../../packages/test-sandbox/src/index.ts';

const SERVER = new URL('./kernel-floor-server.mjs', import.meta.url).pathname;
/** How long the server may take to say its port. */
const START_TIMEOUT_MS = 10_000;

export interface KernelFloor {
  /** The server's sandbox: its binfmt_misc holds what the last call registered. */
  readonly sandbox: Sandbox;
  /** The agent's kernel work, nothing else: client-timed milliseconds of one call. */
  work(): Promise<number>;
  /** An empty answer, no kernel work: the transport alone. */
  empty(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts the server over `linesFile` (register lines, one a line); each call checks `entries` came back. */
export async function startKernelFloor(linesFile: string, entries: number): Promise<KernelFloor> {
  const sandbox = await startSandbox();
  try {
    const child = sandbox.spawn(process.execPath, [SERVER, sandbox.mountPoint, linesFile], {
      env: { NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const port = await Promise.race([
      once(child.stdout!, 'data').then(([chunk]) => Number(String(chunk).trim())),
      once(child, 'exit').then(([code]) => {
        throw new Error(`the kernel floor's server exited with ${String(code)}: ${stderr}`);
      }),
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`the kernel floor's server did not listen within ${START_TIMEOUT_MS} ms`)),
          START_TIMEOUT_MS,
        ).unref(),
      ),
    ]);
    const url = `http://127.0.0.1:${port}/`;
    const timed = async (init: RequestInit, check: (body: unknown) => boolean) => {
      const started = performance.now();
      const res = await fetch(url, init);
      const text = await res.text();
      const body: unknown = res.ok ? JSON.parse(text) : undefined;
      const took = performance.now() - started;
      if (!res.ok) throw new Error(`the kernel floor's server answered ${res.status}: ${text}`);
      if (!check(body)) throw new Error(`the kernel floor's server did not answer every entry: ${text}`);
      return took;
    };
    return {
      sandbox,
      work: () =>
        timed(
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ reset: true, persistent: true }),
          },
          (body) => (body as { entries?: unknown[] }).entries?.length === entries,
        ),
      empty: () => timed({}, () => true),
      stop: () => sandbox.stop(),
    };
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
}
