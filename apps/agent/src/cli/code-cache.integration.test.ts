import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentBundle } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODE_CACHE_TAKEN, codeCacheOf } from './code-cache.ts';

const CODE_CACHE = new URL('./code-cache.ts', import.meta.url).pathname;

/**
 * `node SCRIPT ARGS` as the bundle's entry runs the light commands, in a node of its own (one that has
 * compiled nothing yet): its output, and whether V8 took the code cache.
 */
function runLight(script: string, ...args: string[]) {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { runWithCodeCache } from ${JSON.stringify(CODE_CACHE)};
       const cached = runWithCodeCache(process.argv[1]);
       process.on('exit', () => process.stderr.write('cached: ' + cached + '\\n'));`,
      script,
      ...args,
    ],
    { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
  );
  const cached = /^cached: (true|false)$/m.exec(r.stderr)?.[1];
  return { status: r.status, stdout: r.stdout, cached: cached === 'true', stderr: r.stderr };
}

describe("the bundle's code cache of the light commands (a real node, the real build)", () => {
  let dir: string;
  let built: string;
  beforeAll(() => {
    built = join(agentBundle(), '..', 'binfleet-agent-snapshot.cjs');
    dir = mkdtempSync(join(tmpdir(), 'binfleet-code-cache-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is taken by the node that built it, and the command says what it says without', () => {
    const withCache = runLight(built, 'export', 'aarch64');
    expect(withCache).toMatchObject({ status: 0, cached: true });
    expect(withCache.stdout).toMatch(/^:qemu-aarch64:M::\\x7fELF\\x02/m);

    const script = join(dir, 'no-cache.cjs');
    copyFileSync(built, script);
    const without = runLight(script, 'export', 'aarch64');
    expect(without).toMatchObject({ status: 0, cached: false });
    expect(without.stdout).toBe(withCache.stdout);
  });

  it("is taken by the bundle's entry for the light commands", () => {
    // The entry as node runs it, leaving whether it took the cache where a test can read it.
    const entry = join(built, '..', 'binfleet-agent.cjs');
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(entry)});
         process.on('exit', () => process.stderr.write('taken: ' + globalThis[Symbol.for(${JSON.stringify(CODE_CACHE_TAKEN.description)})] + '\\n'));`,
        'binfleet-agent',
        '--version',
      ],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(r.stderr).toMatch(/^taken: true$/m);
  });

  // V8 checks the data's header (its version, the flags, the source's length) and length, not its
  // bytes (no checksum outside debug builds): a cache whose data was changed in place can crash node,
  // like a script changed in place can fail to parse. The cache ships beside the script, in the same
  // package (SHA256SUMS, dpkg's md5sums) and with the same owner and mode; it is made whole or not at all.
  it('is refused by V8 when its data was cut short or names another V8, and the script compiled as without one', () => {
    const cache = readFileSync(codeCacheOf(built));
    const source = readFileSync(built);
    const head = cache.subarray(0, cache.indexOf(0x0a) + 1);
    const data = cache.subarray(head.length + source.length);
    // V8's header: its magic number, then the hash of its version.
    const otherV8 = Buffer.from(data);
    otherV8.writeUInt32LE((otherV8.readUInt32LE(4) ^ 0xffff) >>> 0, 4);
    for (const [name, bad] of [
      ['short', data.subarray(0, data.length - 1000)],
      ['other-v8', otherV8],
    ] as const) {
      const script = join(dir, `${name}.cjs`);
      copyFileSync(built, script);
      writeFileSync(codeCacheOf(script), Buffer.concat([head, source, bad]));
      const r = runLight(script, '--version');
      expect(r, name).toMatchObject({ status: 0, cached: false });
      expect(r.stdout, name).toMatch(/^\d+\.\d+\.\d+\n$/);
    }
  });
});
