import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from '../errors.ts';
import { HostLock, userNamespaceId } from './host-lock.ts';

describe('HostLock', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'binfleet-host-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

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
});
