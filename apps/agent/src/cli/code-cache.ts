/**
 * The light commands' script (dist/bin/binfleet-agent-snapshot.cjs) as the bundle runs it: compiled
 * from a V8 code cache beside it, so a run starts from bytecode instead of parsing and compiling ~170
 * KB (~8 ms of a `register --reset -p yes` of ~120 ms). `write-code-cache.cjs` (code-cache-writer.ts)
 * makes it: the build with its node, the image's build with the image's node (packaging/image.ts). A
 * run takes it only when it was made by this very node version on this architecture (as Node's own
 * compile cache does: V8 checks its own version, which Node's releases share, and its flags) and from
 * the very bytes of the script (V8 itself checks only their length); otherwise the script is compiled as
 * without one. The launcher's snapshot (launcher.sh.in), made on the host, is faster still; this is
 * for the bundle: the image, and wherever no snapshot can be made.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';
import { CODE_CACHE_WARM_UP } from './snapshot-commands.ts';

/** Where the bundle's entry leaves whether its run took the cache (tests read it). */
export const CODE_CACHE_TAKEN: unique symbol = Symbol.for('binfleet-agent.code-cache-taken');

/** The cache beside the script. */
export const codeCacheOf = (file: string): string => `${file}.code-cache`;

/** Wrapped as Node wraps a CommonJS module, the same text when the cache is made and when it is used. */
const wrapped = (source: Buffer) =>
  `(function (exports, require, module, __filename, __dirname) {${source.toString('utf8')}\n})`;

/** The cache file's first line: what made it, for what. */
const madeBy = (source: Buffer) =>
  Buffer.from(`binfleet-agent code cache: node ${process.version} ${process.arch}, ${source.length} bytes\n`);

/**
 * The file: that line, the script's bytes, then V8's data. V8's data when this node made it from
 * these bytes; undefined otherwise, or when there is none.
 */
function cachedDataFor(source: Buffer, cacheFile: string): Buffer | undefined {
  let cache: Buffer;
  try {
    cache = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const head = madeBy(source);
  const end = head.length + source.length;
  if (cache.length <= end || !head.equals(cache.subarray(0, head.length))) return undefined;
  return source.equals(cache.subarray(head.length, end)) ? cache.subarray(end) : undefined;
}

/** Runs the script as require() would, in this process. */
function evaluate(script: Script, file: string): void {
  const module = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
}

/**
 * Runs the CommonJS script `file`, from its code cache when there is one for these bytes and this
 * node. Whether V8 took the cache (the bundle's entry leaves it at CODE_CACHE_TAKEN for tests).
 */
export function runWithCodeCache(file: string): boolean {
  const source = readFileSync(file);
  const cachedData = cachedDataFor(source, codeCacheOf(file));
  const script = new Script(wrapped(source), { filename: file, cachedData });
  evaluate(script, file);
  return cachedData !== undefined && !script.cachedDataRejected;
}

/**
 * Makes `file`'s code cache with this node: evaluates the script with its warm-up instead of a command,
 * then writes what V8 compiled (under a name of its own, then renamed). Returns the cache's path.
 */
export function writeCodeCache(file: string): string {
  const source = readFileSync(file);
  const script = new Script(wrapped(source), { filename: file });
  const global = globalThis as { [CODE_CACHE_WARM_UP]?: boolean };
  global[CODE_CACHE_WARM_UP] = true;
  try {
    evaluate(script, file);
  } finally {
    delete global[CODE_CACHE_WARM_UP];
  }
  const out = codeCacheOf(file);
  writeFileSync(`${out}.partial`, Buffer.concat([madeBy(source), source, script.createCachedData()]));
  renameSync(`${out}.partial`, out);
  return out;
}
