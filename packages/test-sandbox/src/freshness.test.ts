import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, underBuildLock } from './freshness.ts';

// underBuildLock between real processes: integration files run two at a time, each in a process of
// its own, and the agent's bundle or the web build must be built by one of them at a time.
const FRESHNESS = join(import.meta.dirname, 'freshness.ts');

/** A process that takes the lock, notes when it has it and when it lets go, holding it `holdMs`. */
function builder(root: string, name: string, log: string, holdMs: number) {
  const script = `
    import { appendFileSync } from 'node:fs';
    import { underBuildLock } from ${JSON.stringify(FRESHNESS)};
    underBuildLock(process.argv[1], process.argv[2], () => {
      appendFileSync(process.argv[3], 'start ' + process.pid + '\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.argv[4]));
      appendFileSync(process.argv[3], 'end ' + process.pid + '\\n');
    });`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script, root, name, log, String(holdMs)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  return new Promise<void>((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`builder exited ${code}: ${stderr}`)),
    ),
  );
}

const lockDir = (root: string, name: string) => join(root, 'node_modules/.cache/binfleet-build-locks', name);

describe('underBuildLock', () => {
  const dirs: string[] = [];
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), 'binfleet-build-lock-test-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('lets one process build at a time: the others wait for it', async () => {
    const root = scratch();
    const log = join(root, 'log');
    writeFileSync(log, '');
    await Promise.all([0, 1, 2].map(() => builder(root, 'thing', log, 300)));
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(6);
    // Each start is followed by the same process's end before anyone else starts.
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]).toMatch(/^start \d+$/);
      expect(lines[i + 1]).toBe(lines[i]!.replace('start', 'end'));
    }
    expect(existsSync(lockDir(root, 'thing'))).toBe(false);
  }, 30_000);

  it('takes over the lock of a process that died holding it, and lets go when the build throws', () => {
    const root = scratch();
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const lock = lockDir(root, 'thing');
    mkdirSync(lock, { recursive: true });
    writeFileSync(join(lock, 'pid'), dead.stdout.trim());
    expect(underBuildLock(root, 'thing', () => 'built')).toBe('built');
    expect(() =>
      underBuildLock(root, 'thing', () => {
        throw new Error('the build failed');
      }),
    ).toThrow('the build failed');
    expect(existsSync(lock)).toBe(false);
  });

  it('refuses a nested call for the same name, which would wait for itself', () => {
    const root = scratch();
    expect(() => underBuildLock(root, 'thing', () => underBuildLock(root, 'thing', () => 'inner'))).toThrow(
      /called again while held/,
    );
    expect(underBuildLock(root, 'thing', () => underBuildLock(root, 'other', () => 'inner'))).toBe('inner');
    expect(existsSync(lockDir(root, 'thing'))).toBe(false);
  });
});

describe('freePort', () => {
  it('gives distinct ports below the ephemeral range that a server can listen on', async () => {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(1024);
      expect(port).toBeLessThan(low);
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[0], '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });
});
