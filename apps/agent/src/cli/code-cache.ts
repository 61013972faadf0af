/**
 * The light commands' script (dist/bin/binfleet-agent-snapshot.cjs) as the bundle runs it: compiled
 * from a V8 code cache made at build time (scripts/build.ts) beside it, so a run starts from bytecode
 * instead of parsing and compiling ~170 KB (~10 ms of a `register --reset -p yes` of ~130 ms). The
 * cache holds the very bytes it was made from and is used only when the script's are the same (V8
 * itself checks no more than the length), and V8 refuses it for any other node or other V8 flags:
 * the script is then compiled as without one. The launcher's snapshot (launcher.sh.in) is faster
 * still and made on the host; this is for the bundle (the image, and where no snapshot can be made).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';
import { CODE_CACHE_WARM_UP } from './snapshot-commands.ts';

/** The cache beside the script. */
export const codeCacheOf = (file: string): string => `${file}.code-cache`;

/** Wrapped as Node wraps a CommonJS module, the same text when the cache is made and when it is used. */
const wrapped = (source: Buffer) =>
  `(function (exports, require, module, __filename, __dirname) {${source.toString('utf8')}\n})`;

/**
 * The file: the script's length (4 bytes, little-endian), its bytes, then V8's data. Undefined when
 * there is none or it was made from other bytes.
 */
function cachedDataFor(source: Buffer, cacheFile: string): Buffer | undefined {
  let cache: Buffer;
  try {
    cache = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  if (cache.length <= 4 || cache.readUInt32LE(0) !== source.length || cache.length <= 4 + source.length)
    return undefined;
  return source.equals(cache.subarray(4, 4 + source.length)) ? cache.subarray(4 + source.length) : undefined;
}

/** Runs the script as require() would, in this process. */
function evaluate(script: Script, file: string): void {
  const module = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
}

/**
 * Runs the CommonJS script `file`, from its code cache when there is one for these bytes and this
 * node. Whether V8 took the cache.
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
  const length = Buffer.alloc(4);
  length.writeUInt32LE(source.length);
  const out = codeCacheOf(file);
  writeFileSync(`${out}.partial`, Buffer.concat([length, source, script.createCachedData()]));
  renameSync(`${out}.partial`, out);
  return out;
}
