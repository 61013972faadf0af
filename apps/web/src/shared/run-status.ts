import type { RunStatus } from '@binfleet/db';

/** The statuses a job, a job's host row or a build ends in: nothing changes it after. */
export const FINISHED_STATUSES = ['succeeded', 'failed', 'cancelled'] as const satisfies readonly RunStatus[];

/** Whether a status (from the database or read off the API) is one a run ends in. */
export function isFinished(status: string): boolean {
  return (FINISHED_STATUSES as readonly string[]).includes(status);
}
