import { describe, expect, it } from 'vitest';
import { HashQueue } from './hash-queue.ts';

/** Work that ends when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, work: () => opened.then(() => 'done') };
}

describe('HashQueue', () => {
  it('runs at most `concurrency` at once and turns the caller past the queue away at once, as BUSY', async () => {
    const queue = new HashQueue(1, 2);
    const first = gate();
    const running = queue.run(first.work);
    const waiting = [queue.run(async () => 'w1'), queue.run(async () => 'w2')];
    expect(queue.load).toEqual({ running: 1, waiting: 2 });
    await expect(queue.run(async () => 'too many')).rejects.toMatchObject({
      name: 'ControlPlaneError',
      code: 'BUSY',
      message: /try again in a few seconds/,
    });
    first.open();
    expect(await Promise.all([running, ...waiting])).toEqual(['done', 'w1', 'w2']);
    expect(queue.load).toEqual({ running: 0, waiting: 0 });
  });

  it('gives known devices a slot of their own, then lets them go first, with a waiting line of their own', async () => {
    const queue = new HashQueue(1, 1);
    const first = gate();
    const order: string[] = [];
    const running = queue.run(first.work);
    const stranger = queue.run(async () => void order.push('stranger'));
    await expect(queue.run(async () => undefined)).rejects.toMatchObject({ code: 'BUSY' });
    // The reserved slot: a known device does not wait for the stranger's hash.
    const known = gate();
    const knownRun = queue.run(known.work, { priority: true });
    expect(queue.load).toEqual({ running: 2, waiting: 1 });
    // With the reserved slot taken, the next known device waits, but before every stranger.
    const second = queue.run(async () => void order.push('second known device'), { priority: true });
    first.open();
    await Promise.all([running, stranger]);
    expect(order).toEqual(['second known device', 'stranger']);
    known.open();
    await Promise.all([knownRun, second]);
    expect(queue.load).toEqual({ running: 0, waiting: 0 });
  });

  it('gives the reserved slot to no stranger', async () => {
    const queue = new HashQueue(1, 2, 1);
    const first = gate();
    const running = queue.run(first.work);
    const strangers = [queue.run(async () => 's1'), queue.run(async () => 's2')];
    expect(queue.load).toEqual({ running: 1, waiting: 2 });
    first.open();
    expect(await Promise.all([running, ...strangers])).toEqual(['done', 's1', 's2']);
  });

  it('frees the slot when the work fails', async () => {
    const queue = new HashQueue(1, 0);
    await expect(queue.run(() => Promise.reject(new Error('scrypt failed')))).rejects.toThrow(
      'scrypt failed',
    );
    expect(await queue.run(async () => 'next')).toBe('next');
  });
});
