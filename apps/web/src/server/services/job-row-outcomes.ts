import type { Db, Job, JobTarget, Prisma } from '@binfleet/db';
import type { JobService } from './jobs.ts';

/** What a runner records on a row it holds: final, or queued again for a retry. */
export interface RowChange {
  readonly status: JobTarget['status'];
  readonly error?: string | null;
  readonly result?: Prisma.InputJsonValue;
  readonly runAfter?: Date;
}

type Row = Pick<JobTarget, 'id' | 'jobId'> & { readonly job: Pick<Job, 'status'> };

interface Pending {
  readonly row: Row;
  readonly change: RowChange;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Writes the outcomes of one runner's rows in groups: while a group is being written, rows that
 * finish meanwhile wait and go together in the next one, in one transaction (on SQLite one commit
 * instead of one per row), and each job's status is recomputed once per group rather than per row.
 * Nothing waits for a timer: a row finishing alone is written at once. Only the runner holding a row
 * may finish it (the update is conditional), so one that lost its lease overwrites nothing.
 */
export class JobRowOutcomes {
  private queue: Pending[] = [];
  private writing: Promise<void> | undefined;
  /** Rows of each job this runner holds and has not recorded yet. */
  private readonly open = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly jobs: JobService,
    private readonly runnerId: string,
  ) {}

  /** The runner took the row: record() must follow, once. */
  started(row: Row): void {
    this.open.set(row.jobId, (this.open.get(row.jobId) ?? 0) + 1);
  }

  /** Resolves once the row's change is written (or was not, the row no longer being this runner's). */
  record(row: Row, change: RowChange): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, change, resolve, reject });
      // writeQueued always awaits before it ends, so the assignment comes first.
      this.writing ??= this.writeQueued();
    });
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue.splice(0);
      let written: { count: number }[];
      try {
        written =
          group.length === 1
            ? [await this.update(group[0]!.row.id, group[0]!.change)]
            : await this.db.$transaction(group.map((p) => this.update(p.row.id, p.change)));
      } catch (error) {
        written = [];
        for (const p of group) p.reject(error);
      }
      this.close(group);
      if (written.length === 0) continue;
      try {
        const changed = group.filter((_, i) => written[i]!.count === 1).map((p) => p.row);
        for (const jobId of new Set(changed.map((r) => r.jobId))) {
          // A running job of which this runner still holds rows can neither be final yet nor change its
          // status: it is recomputed when the last of them is recorded. Otherwise once per job and group.
          const running = changed.some((r) => r.jobId === jobId && r.job.status === 'running');
          if (running && this.open.has(jobId)) continue;
          await this.jobs.refreshStatus(jobId);
        }
        for (const p of group) p.resolve();
      } catch (error) {
        for (const p of group) p.reject(error);
      }
    }
    // In the same step as the loop's last look at the queue: a row recorded from here on starts a writer.
    this.writing = undefined;
  }

  /** The group's rows are no longer held (recorded, or given up to the lease when recording failed). */
  private close(group: readonly Pending[]): void {
    for (const { row } of group) {
      const left = (this.open.get(row.jobId) ?? 1) - 1;
      if (left > 0) this.open.set(row.jobId, left);
      else this.open.delete(row.jobId);
    }
  }

  private update(rowId: string, change: RowChange) {
    const final = change.status !== 'queued';
    return this.db.jobTarget.updateMany({
      where: { id: rowId, claimedBy: this.runnerId, status: 'running' },
      data: {
        status: change.status,
        ...(change.error !== undefined ? { error: change.error } : {}),
        ...(change.result !== undefined ? { result: change.result } : {}),
        ...(change.runAfter ? { runAfter: change.runAfter } : {}),
        ...(final
          ? { finishedAt: new Date(), leaseExpiresAt: null }
          : { claimedBy: null, leaseExpiresAt: null }),
      },
    });
  }
}
