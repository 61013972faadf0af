import type { KernelEntry } from '@binfleet/arch-table';
import type { Db } from '@binfleet/db';
import { expect } from 'vitest';
import { FINISHED_STATUSES } from '../../shared/run-status.ts';
import { byName } from './kernel-entries.ts';

export interface NoLostRowsExpectation {
  /** The hosts the job was created for: exactly one row each, no more, no fewer. */
  readonly hostIds: readonly string[];
  /**
   * The kernel's entries of a host now (its sandbox's entry files); a succeeded row's result must
   * equal them. Leave out for jobs whose hosts changed since (or hosts that are gone).
   */
  readonly kernel?: (hostId: string) => KernelEntry[] | undefined;
}

/**
 * Nothing of a job was lost and nothing hangs: every selected host has exactly one row, every row
 * and the job itself reached a final state, no row is still leased, and the entries a succeeded row
 * read back are what the host's kernel holds. Returns the rows for further assertions.
 */
export async function assertNoLostOrHangingRows(db: Db, jobId: string, expected: NoLostRowsExpectation) {
  const job = await db.job.findUniqueOrThrow({ where: { id: jobId }, include: { targets: true } });
  const rows = job.targets;
  expect(rows.map((r) => r.hostId).sort(), 'one row per selected host').toEqual([...expected.hostIds].sort());
  for (const row of rows) {
    expect(
      FINISHED_STATUSES,
      `row of host ${row.hostId} is final (was ${row.status}: ${row.error})`,
    ).toContain(row.status);
    expect(row.finishedAt, `row of host ${row.hostId} has a finish time`).not.toBeNull();
    expect(row.leaseExpiresAt, `row of host ${row.hostId} holds no lease`).toBeNull();
    if (row.status === 'failed') expect(row.error, `failed row of ${row.hostId} says why`).toBeTruthy();
    const kernel = row.status === 'succeeded' ? expected.kernel?.(row.hostId) : undefined;
    if (kernel) {
      const result = row.result as { entries?: KernelEntry[] } | null;
      expect(byName(result?.entries ?? []), `row of host ${row.hostId} matches its kernel`).toEqual(
        byName(kernel),
      );
    }
  }
  expect(FINISHED_STATUSES, `job ${jobId} is final (was ${job.status})`).toContain(job.status);
  expect(job.finishedAt, `job ${jobId} has a finish time`).not.toBeNull();
  const expectedStatus = rows.some((r) => r.status === 'failed')
    ? 'failed'
    : rows.some((r) => r.status === 'succeeded')
      ? 'succeeded'
      : 'cancelled';
  expect(job.status, 'the job status follows its rows').toBe(expectedStatus);
  return rows;
}
