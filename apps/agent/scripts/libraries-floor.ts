/**
 * The floor of the agent's idle memory that its libraries set (bench/agent-register.ts): zod and tRPC's
 * server, loaded as the agent loads them, with a one-procedure router, beside a bare node:http server,
 * started from a V8 startup snapshot as the agent's `serve` is. Bundled the way scripts/build.ts bundles
 * the agent's snapshot scripts (English-only zod, no comments), so that the two differ by the agent's
 * own code and state only.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'esbuild';
import { zodEnglishOnly } from './zod-english-only.ts';

const SOURCE = `
import { startupSnapshot } from 'node:v8';
import { initTRPC } from '@trpc/server';
import { z } from 'zod';

const t = initTRPC.create();
const entry = z.object({ name: z.string(), text: z.string() });
globalThis.router = t.router({
  applyState: t.procedure
    .input(z.object({ reset: z.boolean().optional(), persistent: z.boolean().optional() }))
    .output(z.object({ entries: z.array(entry) }))
    .mutation(() => ({ entries: [] })),
});
// node:http cannot be in a snapshot: loaded once the process has started from it.
const main = () => require('node:http').createServer((req, res) => res.end('{}')).listen(0, '127.0.0.1');
if (startupSnapshot.isBuildingSnapshot()) startupSnapshot.setDeserializeMainFunction(main);
else main();
`;

/** Builds the script and its startup snapshot in `dir`; returns the blob (`node --snapshot-blob BLOB` runs it). */
export async function buildLibrariesFloor(dir: string): Promise<string> {
  const script = join(dir, 'libraries-floor.cjs');
  const blob = join(dir, 'libraries-floor.blob');
  await build({
    stdin: { contents: SOURCE, resolveDir: new URL('..', import.meta.url).pathname, loader: 'js' },
    plugins: [zodEnglishOnly],
    outfile: script,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node18',
    minifyWhitespace: true,
    logLevel: 'warning',
  });
  execFileSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', script], {
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return blob;
}
