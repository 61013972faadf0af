import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeCacheOf, runWithCodeCache, writeCodeCache } from './code-cache.ts';
import { CODE_CACHE_WARM_UP } from './snapshot-commands.ts';

// What the scripts below leave behind, read after each run.
const seen = globalThis as { codeCacheTest?: string[] };

/** A script that records its value, and whether it ran as the cache's warm-up or as a command. */
const script = (value: string) =>
  `globalThis.codeCacheTest.push(globalThis[Symbol.for(${JSON.stringify(CODE_CACHE_WARM_UP.description)})] ? 'warm-up ${value}' : 'run ${value}');\n` +
  `module.exports = { value: ${JSON.stringify(value)}, name: require('node:path').basename(__filename) };\n`;

describe('the light commands\u2019 code cache', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'binfleet-code-cache-'));
    file = join(dir, 'light.cjs');
    seen.codeCacheTest = [];
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    delete seen.codeCacheTest;
  });

  it('is made by running the warm-up, and then runs the script from it, as a CommonJS module', () => {
    writeFileSync(file, script('one'));
    expect(writeCodeCache(file)).toBe(codeCacheOf(file));
    expect(seen.codeCacheTest).toEqual(['warm-up one']);
    expect(CODE_CACHE_WARM_UP in globalThis).toBe(false);
    // The file: what made it, the script's bytes, V8's data.
    const cache = readFileSync(codeCacheOf(file));
    const source = readFileSync(file);
    const head = `binfleet-agent code cache: node ${process.version} ${process.arch}, ${source.length} bytes\n`;
    expect(cache.subarray(0, head.length).toString()).toBe(head);
    expect(cache.subarray(head.length, head.length + source.length).equals(source)).toBe(true);
    expect(cache.length).toBeGreaterThan(head.length + source.length);

    // Whether V8 took it shows only in another process (code-cache.integration.test.ts): this one has
    // compiled the same text already.
    runWithCodeCache(file);
    expect(seen.codeCacheTest).toEqual(['warm-up one', 'run one']);
  });

  it('runs the script as it is now when it changed since, even to bytes of the same length', () => {
    writeFileSync(file, script('one'));
    writeCodeCache(file);
    // V8 checks only the length: the bytecode of 'one' would run for 'two'.
    writeFileSync(file, script('two'));
    expect(runWithCodeCache(file)).toBe(false);
    expect(seen.codeCacheTest).toEqual(['warm-up one', 'run two']);
  });

  it('runs the script without one, with one that is not a cache, or one another node made', () => {
    writeFileSync(file, script('one'));
    expect(runWithCodeCache(file)).toBe(false);
    for (const junk of [Buffer.alloc(0), Buffer.from('binfleet'), Buffer.alloc(64, 7)]) {
      writeFileSync(codeCacheOf(file), junk);
      expect(runWithCodeCache(file)).toBe(false);
    }
    const source = readFileSync(file);
    const made = (node: string, arch: string) =>
      Buffer.from(`binfleet-agent code cache: node ${node} ${arch}, ${source.length} bytes\n`);
    // The right line and bytes, but no V8 data after them.
    writeFileSync(codeCacheOf(file), Buffer.concat([made(process.version, process.arch), source]));
    expect(runWithCodeCache(file)).toBe(false);
    // This node's data, said to be another node's or another architecture's (names of the same length,
    // so that only the line tells them apart).
    writeCodeCache(file);
    const data = readFileSync(codeCacheOf(file)).subarray(
      made(process.version, process.arch).length + source.length,
    );
    const otherVersion = process.version.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
    const otherArch = [...process.arch].reverse().join('');
    for (const [node, arch] of [
      [otherVersion, process.arch],
      [process.version, otherArch],
    ]) {
      writeFileSync(codeCacheOf(file), Buffer.concat([made(node!, arch!), source, data]));
      expect(runWithCodeCache(file), `${node} ${arch}`).toBe(false);
    }
    expect(seen.codeCacheTest).toEqual([...Array(5).fill('run one'), 'warm-up one', 'run one', 'run one']);
  });
});
