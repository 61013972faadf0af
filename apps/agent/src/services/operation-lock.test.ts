import { describe, expect, it } from 'vitest';
import { AgentError } from '../errors.ts';
import type { HostLock } from '../adapters/host-lock.ts';
import { OperationLock } from './operation-lock.ts';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('OperationLock', () => {
  it('runs operations one at a time, in arrival order', async () => {
    const lock = new OperationLock();
    const events: string[] = [];
    const gate = deferred();
    const first = lock.run(
      'first',
      async () => {
        events.push('first start');
        await gate.promise;
        events.push('first end');
      },
      { waitMs: 1000 },
    );
    const second = lock.run('second', async () => void events.push('second'), { waitMs: 1000 });
    const third = lock.run('third', async () => void events.push('third'), { waitMs: 1000 });
    await Promise.resolve();
    expect(lock.holder?.label).toBe('first');
    gate.resolve();
    await Promise.all([first, second, third]);
    expect(events).toEqual(['first start', 'first end', 'second', 'third']);
    expect(lock.holder).toBeUndefined();
  });

  it('answers BUSY, naming the running operation and when it started, after waitMs', async () => {
    const started = new Date('2026-01-02T03:04:05.000Z');
    const lock = new OperationLock(() => started);
    const gate = deferred();
    const running = lock.run('apply --reset', () => gate.promise, { waitMs: 0 });
    const error = await lock.run('remove', async () => 'ran', { waitMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentError);
    expect(error).toMatchObject({
      code: 'BUSY',
      message:
        'Another operation (apply --reset, started 2026-01-02T03:04:05.000Z) is running on this host: retry in a moment.',
    });
    gate.resolve();
    await running;
    await expect(lock.run('remove', async () => 'ran', { waitMs: 0 })).resolves.toBe('ran');
  });

  it('hands over directly: a newcomer cannot slip in between a release and the next waiter', async () => {
    const lock = new OperationLock();
    const gate = deferred();
    const order: string[] = [];
    const first = lock.run('first', () => gate.promise, { waitMs: 1000 });
    const waiting = lock.run('waiting', async () => void order.push('waiting'), { waitMs: 1000 });
    gate.resolve();
    await first;
    // The lock is already the waiter's: the newcomer queues behind it.
    expect(lock.holder?.label).toBe('waiting');
    const newcomer = lock.run('newcomer', async () => void order.push('newcomer'), { waitMs: 1000 });
    await Promise.all([waiting, newcomer]);
    expect(order).toEqual(['waiting', 'newcomer']);
  });

  it('releases the lock when the operation fails', async () => {
    const lock = new OperationLock();
    await expect(
      lock.run('bad', async () => Promise.reject(new Error('boom')), { waitMs: 0 }),
    ).rejects.toThrow('boom');
    await expect(lock.run('next', async () => 'ok', { waitMs: 0 })).resolves.toBe('ok');
  });

  it("answers without waiting for the host lock's release, which is asked for before it answers", async () => {
    const events: string[] = [];
    const freed = deferred();
    const host: HostLock = {
      async acquire(label) {
        events.push(`acquire ${label}`);
        return () => {
          events.push(`release ${label}`);
          return freed.promise;
        };
      },
      close: async () => undefined,
    };
    const lock = new OperationLock(undefined, host);
    // The release has not settled yet: the answer comes all the same, after it was asked for.
    await expect(lock.run('apply', async () => 'done', { waitMs: 0 })).resolves.toBe('done');
    expect(events).toEqual(['acquire apply', 'release apply']);
    // The next operation waits for it, even one that would not wait (the reconciler's): it is only
    // being let go, not held by anyone.
    expect(lock.holder?.label).toBe('apply');
    const next = lock.run('reconcile', async () => 'converged', { waitMs: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events).toEqual(['acquire apply', 'release apply']);
    freed.resolve();
    await expect(next).resolves.toBe('converged');
    expect(events).toEqual(['acquire apply', 'release apply', 'acquire reconcile', 'release reconcile']);
  });
});
