import type { Db } from '@binfleet/db';
import { describe, expect, it } from 'vitest';
import { JobRowOutcomes } from './job-row-outcomes.ts';
import type { JobService } from './jobs.ts';

// The grouping logic over a fake database (the real one is in job-runner, job-outcome and faults'
// integration tests): what is written together, when a job's status is recomputed, and that no row
// recorded at an awkward moment is left unwritten.
function fake() {
  const updates: string[] = [];
  const transactions: number[] = [];
  const refreshed: string[] = [];
  const db = {
    jobTarget: {
      updateMany: async ({ where }: { where: { id: string } }) => {
        await Promise.resolve();
        updates.push(where.id);
        return { count: 1 };
      },
    },
    $transaction: async (ops: Promise<{ count: number }>[]) => {
      transactions.push(ops.length);
      return Promise.all(ops);
    },
  } as unknown as Db;
  const jobs = {
    refreshStatus: async (jobId: string) => {
      refreshed.push(jobId);
      return 'running';
    },
  } as unknown as JobService;
  return { outcomes: new JobRowOutcomes(db, jobs, 'runner-1'), updates, transactions, refreshed };
}

const row = (id: string, jobId = 'job-1', status: 'queued' | 'running' = 'running') => ({
  id,
  jobId,
  job: { status },
});

describe('JobRowOutcomes', () => {
  it('writes rows finishing during a write together, and recomputes a job once its held rows are recorded', async () => {
    const { outcomes, updates, transactions, refreshed } = fake();
    const rows = ['a', 'b', 'c'].map((id) => row(id));
    for (const r of rows) outcomes.started(r);
    const first = outcomes.record(rows[0]!, { status: 'succeeded' });
    const rest = rows.slice(1).map((r) => outcomes.record(r, { status: 'succeeded' }));
    await Promise.all([first, ...rest]);
    expect(updates).toEqual(['a', 'b', 'c']);
    expect(transactions).toEqual([2]);
    // Rows b and c were still held when a was written: one recomputation, after the last.
    expect(refreshed).toEqual(['job-1']);
  });

  it('recomputes a queued job at once (it becomes running), and a job of which it holds no other row', async () => {
    const { outcomes, refreshed } = fake();
    const queued = [row('a', 'job-q', 'queued'), row('b', 'job-q', 'queued')];
    for (const r of queued) outcomes.started(r);
    await outcomes.record(queued[0]!, { status: 'succeeded' });
    expect(refreshed).toEqual(['job-q']);
    await outcomes.record(queued[1]!, { status: 'succeeded' });
    expect(refreshed).toEqual(['job-q', 'job-q']);
  });

  it('writes a row recorded as another is resolved, at the moment the writer runs out of rows', async () => {
    const { outcomes, updates } = fake();
    const [a, b] = [row('a', 'job-a'), row('b', 'job-b')];
    outcomes.started(a);
    outcomes.started(b);
    // b is recorded by a's continuation: the writer has just seen an empty queue.
    let second: Promise<void> | undefined;
    await outcomes.record(a, { status: 'succeeded' }).then(() => {
      second = outcomes.record(b, { status: 'failed', error: 'x' });
    });
    await second;
    expect(updates).toEqual(['a', 'b']);
  });
});
