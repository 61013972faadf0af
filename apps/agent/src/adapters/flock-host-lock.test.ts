import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from '../errors.ts';
import { FlockHostLock as BaseHostLock, userNamespaceId } from './flock-host-lock.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Processes started by `parent` (those with `argument` among their arguments, if given). */
function childrenOf(parent: number, argument?: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const ppid = /^\d+ \(.*\) \S (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return ppid === String(parent) && (argument === undefined || args.includes(argument));
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/** The first non-empty answer of `find` within a few seconds. */
async function eventually(find: () => number[]): Promise<number[]> {
  for (const until = Date.now() + 5000; Date.now() < until; await sleep(20)) {
    const found = find();
    if (found.length > 0) return found;
  }
  throw new Error('not found in time');
}

/**
 * Whether the helper `pid` retries flock (sleeping between tries, so its voluntary context switches
 * grow), rather than waiting for its next request (where they stand still).
 */
function polling(pid: number): boolean {
  const switches = () =>
    Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  const before = switches();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  return switches() > before + 2;
}

/** Whether `pid` ends within `withinMs`. A zombie has: it only waits for its parent (or init) to collect it. */
async function gone(pid: number, withinMs: number): Promise<boolean> {
  for (const until = Date.now() + withinMs; Date.now() < until; await sleep(20)) {
    let state: string | undefined;
    try {
      state = /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
    } catch {
      return true;
    }
    if (state === 'Z') return true;
  }
  return false;
}

describe('FlockHostLock', () => {
  let dir: string;
  const locks: BaseHostLock[] = [];
  /** Every lock a test makes is closed after it: no helper outlives its test. */
  class HostLock extends BaseHostLock {
    constructor(...args: ConstructorParameters<typeof BaseHostLock>) {
      super(...args);
      locks.push(this);
    }
  }
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'binfleet-host-lock-'));
  });
  afterEach(async () => {
    await Promise.all(locks.splice(0).map((lock) => lock.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets one holder in at a time and names it to whoever waits too long', async () => {
    const file = join(dir, 'binfmt.lock');
    const serve = new HostLock(file, 'binfleet-agent serve --listen 127.0.0.1:7475');
    const cli = new HostLock(file, 'binfleet-agent register --reset -p yes');
    const release = await serve.acquire('apply --reset', 1000);
    expect(serve.holder()).toMatchObject({ pid: process.pid, label: 'apply --reset' });

    const error = await cli.acquire('register', 100).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentError);
    expect(error).toMatchObject({ code: 'BUSY', details: { pid: process.pid, running: 'apply --reset' } });
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Cannot register now: process ${process.pid} \\(binfleet-agent serve --listen 127\\.0\\.0\\.1:7475\\) is running "apply --reset" since \\S+ on this host's binfmt_misc\\. Wait for it to finish and retry\\. If it hangs, stop it \\(kill ${process.pid}\\) and retry\\.$`,
      ),
    );

    // A waiter gets its turn as soon as the holder lets go, within its wait.
    const waiting = cli.acquire('register', 10_000);
    await release();
    const releaseCli = await waiting;
    expect(cli.holder()).toMatchObject({
      label: 'register',
      command: 'binfleet-agent register --reset -p yes',
    });
    await releaseCli();
    expect(cli.holder()).toBeUndefined();
  });

  it('names the file when the holder left no name, and does not wait at all with waitMs 0', async () => {
    const file = join(dir, 'binfmt.lock');
    const release = await new HostLock(file, 'x').acquire('reconcile', 0);
    writeFileSync(file, '');
    const error = await new HostLock(file, 'y').acquire('reconcile', 0).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `Cannot reconcile now: another process holds ${file} on this host's binfmt_misc. Wait for it to finish and retry.`,
    );
    await release();
  });

  it('keeps its file in a directory no one else can write, one file per user namespace', () => {
    const own = join(dir, 'run');
    const lock = HostLock.forThisNamespace(own);
    expect(lock.file).toBe(join(own, `binfmt-${userNamespaceId()}.lock`));
    expect(userNamespaceId()).toMatch(/^\d+$/);

    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(() => HostLock.forThisNamespace(open)).toThrow(
      expect.objectContaining({
        code: 'PERMISSION_DENIED',
        message: expect.stringContaining('no one else can write'),
      }),
    );
  });

  it('keeps one helper process for all its operations, and stops it on close', async () => {
    const file = join(dir, 'binfmt.lock');
    const lock = new HostLock(file, 'x');
    expect(childrenOf(process.pid, file)).toEqual([]);
    for (const label of ['apply', 'remove', 'reconcile']) await (await lock.acquire(label, 0))();
    const helpers = childrenOf(process.pid, file);
    expect(helpers).toHaveLength(1);

    await lock.close();
    expect(await gone(helpers[0]!, 2000)).toBe(true);
    expect(childrenOf(process.pid, file)).toEqual([]);
  });

  it('starts its helper ahead on prepare, takes no lock then, and acquire uses that helper', async () => {
    const file = join(dir, 'binfmt.lock');
    const lock = new HostLock(file, 'x');
    lock.prepare();
    lock.prepare();
    const helpers = await eventually(() => childrenOf(process.pid, file));
    expect(helpers).toHaveLength(1);
    // Prepared is not held: another process's lock gets in at once.
    const other = new HostLock(file, 'y');
    await (
      await other.acquire('remove', 0)
    )();
    await other.close();
    await (
      await lock.acquire('apply', 0)
    )();
    expect(childrenOf(process.pid, file)).toEqual(helpers);

    // Without perl, prepare says nothing; acquire says why.
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'empty');
    try {
      const without = new HostLock(join(dir, 'other.lock'), 'z');
      without.prepare();
      await expect(without.acquire('apply', 0)).rejects.toMatchObject({
        code: 'INTERNAL',
        message: expect.stringContaining('Could not start perl'),
      });
    } finally {
      process.env.PATH = path;
    }
  });

  it('starts a new helper when the last one died, and says why when it cannot', async () => {
    const file = join(dir, 'binfmt.lock');
    const lock = new HostLock(file, 'x');
    await (
      await lock.acquire('apply', 0)
    )();
    const [first] = childrenOf(process.pid, file);
    process.kill(first!, 'SIGKILL');
    expect(await gone(first!, 2000)).toBe(true);

    // Killed while holding: the lock goes with it, and releasing still works.
    const release = await lock.acquire('apply', 0);
    const [second] = childrenOf(process.pid, file);
    expect(second).not.toBe(first);
    process.kill(second!, 'SIGKILL');
    expect(await gone(second!, 2000)).toBe(true);
    await (
      await new HostLock(file, 'y').acquire('remove', 1000)
    )();
    await release();

    const path = process.env.PATH;
    process.env.PATH = join(dir, 'empty');
    try {
      const error = await new HostLock(file, 'z').acquire('apply', 0).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'INTERNAL',
        message: `Could not start perl to lock ${file}: spawn perl ENOENT`,
      });
    } finally {
      process.env.PATH = path;
    }
    await (
      await lock.acquire('apply', 0)
    )();
  });

  it('leaves neither the lock nor a helper behind a process that ends, by SIGKILL too, even while it waits', async () => {
    const file = join(dir, 'binfmt.lock');
    const script = join(dir, 'holder.mts');
    // `once` takes and frees the lock and then simply ends (an idle helper must not keep a CLI
    // alive); `hold` and `wait` stay until killed.
    writeFileSync(
      script,
      `import { FlockHostLock } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'flock-host-lock.ts')).href)};
const lock = new FlockHostLock(process.argv[2], 'child');
const mode = process.argv[3];
if (mode === 'once') await (await lock.acquire('once', 1000))();
if (mode === 'hold') await lock.acquire('hold', 1000);
console.log(mode);
if (mode === 'wait') await lock.acquire('wait', 60_000);
if (mode !== 'once') setInterval(() => {}, 1000);
`,
    );
    const run = (mode: string) =>
      spawn(process.execPath, ['--import', 'tsx', script, file, mode], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
    const said = (child: ChildProcess) =>
      new Promise<string>((resolve) =>
        child.stdout!.once('data', (c: Buffer) => resolve(c.toString().trim())),
      );
    const ended = (child: ChildProcess) =>
      new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const once = run('once');
    expect(await ended(once)).toBe(0);

    const holding = run('hold');
    expect(await said(holding)).toBe('hold');
    const [holdingHelper] = childrenOf(holding.pid!, file);
    expect(holdingHelper).toBeDefined();
    const lock = new HostLock(file, 'parent');
    expect(await lock.acquire('apply', 0).catch((e: unknown) => e)).toMatchObject({ code: 'BUSY' });
    holding.kill('SIGKILL');
    await ended(holding);
    const release = await lock.acquire('apply', 2000);
    expect(await gone(holdingHelper!, 2000)).toBe(true);

    // Killed while its helper waits in flock: the helper ends within one wait slice and never
    // takes the lock for the dead process.
    const waiting = run('wait');
    expect(await said(waiting)).toBe('wait');
    const [waitingHelper] = await eventually(() => childrenOf(waiting.pid!, file));
    await eventually(() => (polling(waitingHelper!) ? [waitingHelper!] : [])); // retrying flock
    waiting.kill('SIGKILL');
    await ended(waiting);
    expect(await gone(waitingHelper!, 2500)).toBe(true);
    await release();
    await (
      await new HostLock(file, 'other').acquire('apply', 0)
    )();
  }, 30_000);
});
