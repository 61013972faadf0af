import type { Db } from './client.ts';

export interface ClaimRequest {
  jobTargetId: string;
  /** Identifies the runner (web replica) taking the row. */
  runnerId: string;
  leaseMs: number;
  now?: Date;
}

/**
 * Takes one JobTarget row for a runner, with a single conditional UPDATE: a row that is queued and due,
 * or running under an expired lease (its runner died), becomes running under this runner's lease. The
 * database serialises concurrent updates of the row, so of several runners racing exactly one gets
 * true, on SQLite and on PostgreSQL, with no lock held in any process.
 */
export async function claimJobTarget(
  db: Db,
  { jobTargetId, runnerId, leaseMs, now = new Date() }: ClaimRequest,
): Promise<boolean> {
  const claimed = await claimJobTargets(db, { jobTargetIds: [jobTargetId], runnerId, leaseMs, now });
  return claimed.length === 1;
}

export interface BatchClaimRequest {
  jobTargetIds: readonly string[];
  runnerId: string;
  leaseMs: number;
  now?: Date;
}

/**
 * Takes several JobTarget rows at once, with the same conditions as claimJobTarget, in one UPDATE ...
 * RETURNING: the ids it returns are exactly the rows this statement moved, so of several runners
 * racing for a row exactly one gets it back. Rows another runner holds (or not due) are left out.
 */
export async function claimJobTargets(
  db: Db,
  { jobTargetIds, runnerId, leaseMs, now = new Date() }: BatchClaimRequest,
): Promise<string[]> {
  if (jobTargetIds.length === 0) return [];
  const claimed = await db.jobTarget.updateManyAndReturn({
    where: {
      id: { in: [...jobTargetIds] },
      OR: [
        { status: 'queued', runAfter: { lte: now } },
        { status: 'running', leaseExpiresAt: { lt: now } },
      ],
    },
    data: {
      status: 'running',
      claimedBy: runnerId,
      claimedAt: now,
      leaseExpiresAt: new Date(now.getTime() + leaseMs),
      attempts: { increment: 1 },
    },
    select: { id: true },
  });
  return claimed.map((row) => row.id);
}
