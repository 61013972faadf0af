/**
 * Builds the agent's bundle in dist/bin/: the whole CLI and agent, with the workspace packages, bundled
 * into plain JavaScript for production (the systemd unit and the container run it). Running the
 * sources through tsx costs its loader thread (~30 MB resident, a second per start); this does not.
 * - binfleet-agent.cjs, the entry (src/cli/bundle-main.ts);
 * - binfleet-agent-main.mjs and its chunks: every command but the light ones, as ES modules. dockerode
 *   stays outside the bundle (it is CommonJS with optional native parts) and, like every lazily
 *   imported module, in a chunk of its own that loads on first use;
 * - binfleet-agent-snapshot.cjs: the light commands alone as one CommonJS script with no imports but
 *   Node's own, what `node --build-snapshot` takes (the launcher builds the startup snapshot from it on
 *   the host, for the host's node) and what the entry runs for those commands, from its V8 code cache
 *   binfleet-agent-snapshot.cjs.code-cache (made by this node with write-code-cache.cjs);
 * - binfleet-agent-serve-snapshot.cjs: the same for `serve`, the agent itself.
 * And dist/launcher/bin/binfleet-agent: the packages' launcher over this bundle, for tests and benches.
 *   pnpm --filter @binfleet/agent build
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { build, type Plugin } from 'esbuild';
import { writeLauncher } from '../packaging/agent-tree.ts';
import { atFirstUse, buildSnapshotScript, servePlugins, zodEnglishOnly } from './bundling.ts';

const root = new URL('..', import.meta.url).pathname;
const outdir = `${root}dist/bin`;

const { version } = JSON.parse(await readFile(`${root}package.json`, 'utf8')) as { version: string };

// The bundle knows its version without a package.json beside it (src/version.ts).
const define = { BINFLEET_AGENT_VERSION: JSON.stringify(version) };

await rm(`${root}dist`, { recursive: true, force: true });
// Every command but the light ones (`src/cli/main.ts`, as `pnpm exec binfleet-agent` runs it from the
// sources), as ES modules: a chunk per lazily imported part.
await build({
  entryPoints: { 'binfleet-agent-main': `${root}src/cli/main.ts` },
  plugins: [zodEnglishOnly],
  // dist/bin/ sits two levels below the package, like src/cli/: files found relative to the
  // module (../../package.json for the version) resolve the same in sources and bundle.
  outdir,
  outExtension: { '.js': '.mjs' },
  define,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // Node 18 and newer: Debian 12's nodejs is 18 (the .deb, the tarball and the image run on it).
  target: 'node18',
  external: ['dockerode'],
  sourcemap: 'linked',
  logLevel: 'warning',
});
// The entry, dist/bin/binfleet-agent.cjs (src/cli/bundle-main.ts): CommonJS, so that the light commands
// never start Node's ES module loader; the others import binfleet-agent-main.mjs. Beside it the code
// cache's writer, dist/bin/write-code-cache.cjs (src/cli/code-cache-writer.ts), run below.
await build({
  entryPoints: {
    'binfleet-agent': `${root}src/cli/bundle-main.ts`,
    'write-code-cache': `${root}src/cli/code-cache-writer.ts`,
  },
  plugins: [
    {
      name: 'main-as-built',
      setup(build) {
        build.onResolve({ filter: /^\.\/main\.ts$/ }, () => ({
          path: './binfleet-agent-main.mjs',
          external: true,
        }));
      },
    },
  ],
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  sourcemap: 'linked',
  logLevel: 'warning',
});
/** A snapshot script of src/cli/ENTRY as dist/bin/OUTFILE. */
const snapshotScript = (entry: string, outfile: string, plugins: Plugin[]) =>
  buildSnapshotScript({ entryPoints: [`${root}src/cli/${entry}`] }, `${outdir}/${outfile}`, plugins, define);
// The light commands' script, which the bundle's entry also runs for them (src/cli/bundle-main.ts).
const snapshot = await snapshotScript('snapshot-main.ts', 'binfleet-agent-snapshot.cjs', [
  atFirstUse('node:crypto', 'snapshot-crypto.ts'),
]);
// The agent's own (`serve`, its launcher's start under systemd): node:http cannot be in a snapshot,
// and dockerode is found beside the bundle at first use, as the bundle finds it.
await snapshotScript('serve-snapshot-main.ts', 'binfleet-agent-serve-snapshot.cjs', servePlugins());
// The bundle's code cache of the light commands' script (src/cli/code-cache.ts), made by this node with
// its writer (which the image's build runs again with the image's node), in a process of its own:
// without tsx or NODE_OPTIONS, whose flags V8 would hold against the cache.
execFileSync(process.execPath, [`${outdir}/write-code-cache.cjs`, `${outdir}/binfleet-agent-snapshot.cjs`], {
  env: { ...process.env, NODE_OPTIONS: '' },
  stdio: 'inherit',
});
// A snapshot script's source beyond ASCII would be held as two bytes a character (bundling.ts).
for (const script of ['binfleet-agent-snapshot.cjs', 'binfleet-agent-serve-snapshot.cjs']) {
  const offset = (await readFile(`${outdir}/${script}`)).findIndex((byte) => byte > 0x7f);
  if (offset >= 0)
    throw new Error(
      `${script} holds a byte beyond ASCII at offset ${offset}: V8 may keep its whole source as two bytes a character (1.5 MB more for serve's). Find what put it there (a comment esbuild keeps, such as a /*! licence */ one: legalComments 'external'; a setting other than esbuild's default ASCII charset) and mend it in buildSnapshotScript (scripts/bundling.ts).`,
    );
}
// The light commands read only schemas of zod's mini API (architecture.md): one module of the full API
// in their script would bring all of it back (~10 ms on every start), silently. Refused here.
const fullApi = Object.keys(snapshot.metafile.inputs).filter((input) =>
  /[\\/]zod[\\/]v4[\\/]classic[\\/]/.test(input),
);
if (fullApi.length > 0)
  throw new Error(
    `The CLI's snapshot script imports zod's full API (${fullApi[0]}): write the schemas the light commands read with zod/mini (see docs/architecture.md).`,
  );
// The packages' launcher over this checkout's bundle (dist/launcher/bin -> ../../dist/bin): how tests
// and benches run the agent as the systemd unit does, from its startup snapshot.
await mkdir(`${root}dist/launcher/bin`, { recursive: true });
writeLauncher(`${root}dist/launcher/bin/binfleet-agent`, '../..');
console.log(
  `built ${outdir}/binfleet-agent.cjs, binfleet-agent-main.mjs, binfleet-agent-snapshot.cjs(.code-cache), binfleet-agent-serve-snapshot.cjs and dist/launcher/bin/binfleet-agent`,
);
