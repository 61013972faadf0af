import { describe, expect, it } from 'vitest';
import { eachWithConcurrency } from './each-with-concurrency.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('eachWithConcurrency', () => {
  it('runs every item, never more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await eachWithConcurrency([30, 10, 20, 5, 15], 2, async (ms) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(ms);
      running--;
      done.push(ms);
    });
    expect(done.sort((a, b) => a - b)).toEqual([5, 10, 15, 20, 30]);
    expect(peak).toBe(2);
  });

  it('starts nothing after a failure and rejects with it once the running ones have ended', async () => {
    const started: number[] = [];
    const ended: number[] = [];
    const failure = new Error('item 1 failed');
    const run = eachWithConcurrency([0, 1, 2, 3, 4], 2, async (item) => {
      started.push(item);
      if (item === 1) throw failure;
      await sleep(20);
      ended.push(item);
    });
    const atRejection = await run.then(
      () => 'resolved',
      (error: unknown) => ({ error, ended: [...ended] }),
    );
    expect(atRejection).toEqual({ error: failure, ended: [0] });
    expect(started).toEqual([0, 1]);
  });

  it('handles an empty list', async () => {
    await expect(eachWithConcurrency([], 2, async () => {})).resolves.toBeUndefined();
  });
});
