import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { basename, join, resolve } from 'node:path';
import { isStale, WEB_BUILD_INPUTS } from '@binfleet/test-sandbox';
import { build } from 'esbuild';

const REPO = resolve(import.meta.dirname, '../../../../..');
const ENTRY = join(REPO, 'apps/web/src/server/testing/serve-control-plane.ts');
/** serve-control-plane.ts bundled: what tests and benches start (gitignored, like every dist/). */
const BUNDLE = join(REPO, 'apps/web/dist/test/serve-control-plane.mjs');

let bundleChecked: Promise<string> | undefined;

/**
 * BUNDLE, built first when missing or older than a source it bundles (once per process). Through
 * tsx the process spent ~1.5 s more CPU at every start transforming and loading ~140 modules, and
 * tests start it for every fleet, restart and replica. The workspace's sources are bundled; every
 * package from node_modules is imported from the path esbuild resolved it to (pnpm gives apps/web
 * no view of packages/db's dependencies), so Prisma, its WebAssembly engine and the database drivers
 * load as they do in the app. Written to a temporary name and renamed: two test processes may build
 * it at the same time.
 */
export function controlPlaneBundle(): Promise<string> {
  bundleChecked ??= (async () => {
    if (!isStale(BUNDLE, WEB_BUILD_INPUTS, REPO)) return BUNDLE;
    const result = await build({
      entryPoints: [ENTRY],
      outfile: BUNDLE,
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'linked',
      logLevel: 'warning',
      plugins: [
        {
          name: 'node-modules-in-place',
          setup(b) {
            b.onResolve({ filter: /^[^./]/ }, async (args) => {
              if (args.path.startsWith('@binfleet/') || args.path.startsWith('node:')) return undefined;
              if (args.pluginData === 'in-place') return undefined;
              const found = await b.resolve(args.path, {
                kind: args.kind,
                importer: args.importer,
                resolveDir: args.resolveDir,
                pluginData: 'in-place',
              });
              return found.errors.length ? { errors: found.errors } : { path: found.path, external: true };
            });
          },
        },
      ],
    });
    mkdirSync(join(REPO, 'apps/web/dist/test'), { recursive: true });
    // The bundle last: it names the map, and its mtime is what says the build is fresh.
    const bundleLast = (file: { path: string }) => Number(file.path === BUNDLE);
    for (const file of [...result.outputFiles].sort((a, b) => bundleLast(a) - bundleLast(b))) {
      const temporary = join(REPO, 'apps/web/dist/test', `.${basename(file.path)}.${process.pid}`);
      writeFileSync(temporary, file.contents);
      renameSync(temporary, file.path);
    }
    return BUNDLE;
  })();
  return bundleChecked;
}

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
  const args = [...nodeArgs, '--enable-source-maps', await controlPlaneBundle(), String(port), hostname];
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
