/**
 * The floor under the agent API's figure in bench/agent-register.ts: a bare Node HTTP server
 * (kernel-floor-server.mjs) doing the same kernel work as the agent's reset + register, in a sandbox of
 * its own, called as the agent is: through the agent's own client (node:http, keep-alive), from this
 * process.
 */
import { once } from 'node:events';
import { createAgentClient } from '../../apps/agent/src/server/agent-client.ts';
import { startSandbox, type Sandbox } from '../../packages/test-sandbox/src/index.ts';

const SERVER = new URL('./kernel-floor-server.mjs', import.meta.url).pathname;
/** How long the server may take to say its port, and to answer a call. */
const TIMEOUT_MS = 10_000;

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
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    const port = await Promise.race([
      once(child.stdout!, 'data').then(([chunk]) => Number(String(chunk).trim())),
      once(child, 'exit').then(([code]) => {
        throw new Error(`the kernel floor's server exited with ${String(code)}: ${stderr}`);
      }),
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`the kernel floor's server did not listen within ${TIMEOUT_MS} ms`)),
          TIMEOUT_MS,
        ).unref(),
      ),
    ]);
    // Its answers are not the contract's (`entries` only): the client checks none, as with the agent.
    const client = createAgentClient(`http://127.0.0.1:${port}/`, 'no-token');
    const timed = async (
      call: (signal: AbortSignal) => Promise<unknown>,
      check: (data: unknown) => boolean,
    ) => {
      const started = performance.now();
      const data = await call(AbortSignal.timeout(TIMEOUT_MS)).catch((error: unknown) => {
        throw new Error(`the kernel floor's server failed: ${(error as Error).message} ${stderr}`);
      });
      const took = performance.now() - started;
      if (!check(data))
        throw new Error(`the kernel floor's server did not answer every entry: ${JSON.stringify(data)}`);
      return took;
    };
    return {
      sandbox,
      work: () =>
        timed(
          (signal) => client.applyState.mutate({ reset: true, persistent: true }, { signal }),
          (data) => (data as { entries?: unknown[] }).entries?.length === entries,
        ),
      empty: () =>
        timed(
          (signal) => client.status.query(undefined, { signal }),
          () => true,
        ),
      stop: () => sandbox.stop(),
    };
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
}
