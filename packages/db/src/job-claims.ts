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
) {
  const { count } = await db.jobTarget.updateMany({
    where: {
      id: jobTargetId,
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
  });
  return count === 1;
}
