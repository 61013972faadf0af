/**
 * Builds dist/bin/binfleet-agent.mjs: the whole CLI and agent, with the workspace packages, bundled
 * into plain JavaScript for production (the systemd unit and the container run it). Running the
 * sources through tsx costs its loader thread (~30 MB resident, a second per start); this does not.
 * dockerode stays outside the bundle (it is CommonJS with optional native parts) and, like every
 * lazily imported module, in a chunk of its own that loads on first use.
 * Beside it dist/bin/binfleet-agent-snapshot.cjs: the light commands alone as one CommonJS script
 * with no imports but Node's own, what `node --build-snapshot` takes (the launcher builds the
 * startup snapshot from it on the host, for the host's node).
 *   pnpm --filter @binfleet/agent build
 */
import { readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { build, type Plugin } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const outdir = `${root}dist/bin`;

const { version } = JSON.parse(await readFile(`${root}package.json`, 'utf8')) as { version: string };

// zod's error messages in 50 languages are half of what every command would parse at start
// (~360 KB); the agent speaks English (zod's default, `en`), so the others stay out.
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: dirname(args.path),
    }));
  },
};
// The bundle knows its version without a package.json beside it (src/version.ts).
const define = { BINFLEET_AGENT_VERSION: JSON.stringify(version) };

await rm(`${root}dist`, { recursive: true, force: true });
await build({
  // The same entry as `pnpm exec binfleet-agent`: its TypeScript loader becomes a no-op, since the
  // bundle is JavaScript already.
  entryPoints: { 'binfleet-agent': `${root}bin/binfleet-agent.js` },
  plugins: [
    {
      name: 'no-typescript-loader',
      setup(build) {
        build.onResolve({ filter: /^tsx\/esm\/api$/ }, () => ({ path: 'tsx-loader', namespace: 'stub' }));
        build.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
          contents: 'export function register() {}',
        }));
      },
    },
    zodEnglishOnly,
  ],
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
const snapshot = await build({
  entryPoints: [`${root}src/cli/snapshot-main.ts`],
  plugins: [
    zodEnglishOnly,
    {
      name: 'child-process-at-first-use',
      setup(build) {
        const shim = `${root}scripts/snapshot-child-process.ts`;
        build.onResolve({ filter: /^node:child_process$/ }, (args) =>
          args.importer === shim ? undefined : { path: shim },
        );
      },
    },
  ],
  outfile: `${outdir}/binfleet-agent-snapshot.cjs`,
  define,
  bundle: true,
  // One script: inside --build-snapshot, require() serves Node's built-in modules only.
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  // src/version.ts reads import.meta.url only from sources: `define` gives the bundle its version.
  logOverride: { 'empty-import-meta': 'silent' },
  logLevel: 'warning',
  metafile: true,
});
// The light commands read only schemas of zod's mini API (architecture.md): one module of the full API
// in their script would bring all of it back (~10 ms on every start), silently. Refused here.
const fullApi = Object.keys(snapshot.metafile.inputs).filter((input) =>
  /[\\/]zod[\\/]v4[\\/]classic[\\/]/.test(input),
);
if (fullApi.length > 0)
  throw new Error(
    `The CLI's snapshot script imports zod's full API (${fullApi[0]}): write the schemas the light commands read with zod/mini (see docs/architecture.md).`,
  );
console.log(`built ${outdir}/binfleet-agent.mjs and binfleet-agent-snapshot.cjs`);
