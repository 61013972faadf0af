/**
 * Floors under the agent's idle memory, for bench/agent-register.ts: scripts bundled exactly as the
 * agent's `serve` snapshot script is (bundling.ts) and started from a V8 startup snapshot as the
 * agent is, each serving bare HTTP (`{}` to every request) and doing nothing else:
 * - nothing more: what a startup snapshot of its own costs a bare server;
 * - the libraries: zod and tRPC's server, loaded as the agent loads them, with a one-procedure router;
 * - the agent's code: what `serve`'s snapshot script loads (src/cli/serve-snapshot-main.ts's imports),
 *   evaluated, none of it started.
 * Each builder makes the script and its blob in `dir` and returns the blob (`node --snapshot-blob BLOB`).
 */
import { join } from 'node:path';
import { buildSnapshotBlob, buildSnapshotScript, servePlugins } from './bundling.ts';

const root = new URL('..', import.meta.url).pathname;

/** Serves `{}` on 127.0.0.1 once started from the snapshot (node:http loads then: bundling.ts). */
const BARE_SERVER = `
import { createServer } from 'node:http';
import { startupSnapshot } from 'node:v8';
startupSnapshot.setDeserializeMainFunction(() =>
  createServer((req, res) => res.end('{}')).listen(0, '127.0.0.1'),
);
`;

const LIBRARIES = `
import { initTRPC } from '@trpc/server';
import { z } from 'zod';
const t = initTRPC.create();
const entry = z.object({ name: z.string(), text: z.string() });
globalThis.floorRouter = t.router({
  applyState: t.procedure
    .input(z.object({ reset: z.boolean().optional(), persistent: z.boolean().optional() }))
    .output(z.object({ entries: z.array(entry) }))
    .mutation(() => ({ entries: [] })),
});
${BARE_SERVER}`;

const AGENT_CODE = `
import { exitQuietlyOnClosedPipe, stdio } from './process-io.ts';
import { runCommand } from './run-command.ts';
import { serveCommand } from './serve-command.ts';
globalThis.floorServe = [exitQuietlyOnClosedPipe, stdio, runCommand, serveCommand];
${BARE_SERVER}`;

async function floor(dir: string, name: string, contents: string): Promise<string> {
  const script = join(dir, `${name}.cjs`);
  const blob = join(dir, `${name}.blob`);
  await buildSnapshotScript(
    { stdin: { contents, resolveDir: `${root}src/cli`, loader: 'ts', sourcefile: `${name}.ts` } },
    script,
    servePlugins(),
    { BINFLEET_AGENT_VERSION: JSON.stringify('0.0.0-floor') },
  );
  buildSnapshotBlob(script, blob);
  return blob;
}

/** Bare HTTP alone. */
export const buildBareFloor = (dir: string) => floor(dir, 'bare-floor', BARE_SERVER);

/** zod and tRPC's server beside bare HTTP. */
export const buildLibrariesFloor = (dir: string) => floor(dir, 'libraries-floor', LIBRARIES);

/** The agent's code loaded, nothing started, beside bare HTTP. */
export const buildAgentCodeFloor = (dir: string) => floor(dir, 'agent-code-floor', AGENT_CODE);
