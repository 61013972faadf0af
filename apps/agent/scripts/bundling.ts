/**
 * How the agent's scripts are bundled and made into startup snapshots, shared by scripts/build.ts and
 * what the benches compare the agent with (scripts/memory-floors.ts, bench/agent-api-parts.ts), so that
 * those are made exactly as the agent's own are.
 */
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;

/**
 * zod's error messages in 50 languages are half of what every command would parse at start (~360 KB);
 * the agent speaks English (zod's default, `en`), so the others stay out.
 */
export const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: dirname(args.path),
    }));
  },
};

/**
 * Resolves `module` to a script of ours (scripts/FILE) that loads it at first use, once the process has
 * started from a snapshot (the script's own imports of it stay Node's).
 */
export const atFirstUse = (module: string, file: string): Plugin => ({
  name: `${module}-at-first-use`,
  setup(build) {
    const shim = `${root}scripts/${file}`;
    build.onResolve({ filter: new RegExp(`^${module}$`) }, (args) =>
      args.importer === shim ? undefined : { path: shim },
    );
  },
});

/** `serve`'s snapshot: node:http cannot be in one, and dockerode is found beside the bundle at first use. */
export const servePlugins = (): Plugin[] => [
  atFirstUse('node:http', 'snapshot-http.ts'),
  atFirstUse('dockerode', 'snapshot-dockerode.ts'),
];

/**
 * One CommonJS script with no imports but Node's own: what `node --build-snapshot` takes. `entry` is
 * esbuild's entryPoints or stdin.
 */
export const buildSnapshotScript = (
  entry: Pick<BuildOptions, 'entryPoints' | 'stdin'>,
  outfile: string,
  plugins: Plugin[],
  define: Record<string, string>,
) =>
  build({
    ...entry,
    plugins: [zodEnglishOnly, atFirstUse('node:child_process', 'snapshot-child-process.ts'), ...plugins],
    outfile,
    define,
    bundle: true,
    // One script: inside --build-snapshot, require() serves Node's built-in modules only.
    format: 'cjs',
    platform: 'node',
    target: 'node18',
    // A script started from a snapshot has no dynamic import (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING):
    // Node's modules loaded at first use (https, zlib, dns, dgram) come from require() instead.
    supported: { 'dynamic-import': false },
    // src/version.ts reads import.meta.url only from sources: `define` gives the bundle its version.
    logOverride: { 'empty-import-meta': 'silent' },
    // No comments or indentation: V8 keeps the script's source in the heap and in the blob (lazily
    // compiled functions need it), and one character beyond Latin-1 in a comment (an em dash in
    // zod's) made it keep all of it as two bytes a character: 1.5 MB instead of 0.6 for `serve`'s,
    // ~1.9 MB of the idle agent's memory (docs/operations.md). Identifiers stay: stack traces keep
    // their functions' names. esbuild writes the rest as ASCII (scripts/build.ts checks).
    minifyWhitespace: true,
    // A stack trace's line:column in these long lines is found in OUTFILE.map: beside the script, named
    // in no comment of it (nothing more for V8 to hold).
    sourcemap: 'external',
    logLevel: 'warning',
    metafile: true,
  });

/**
 * `node --build-snapshot SCRIPT` into BLOB with this node, outside tsx and NODE_OPTIONS (a snapshot
 * refuses a start with other V8 flags than it was made with).
 */
export function buildSnapshotBlob(script: string, blob: string): void {
  execFileSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', script], {
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
