import { Prisma, type Db } from '@binfleet/db';

/** One check of a verify as it is stored: a target, how it was run, and what came of it. */
export type SelfTestCheck = Pick<
  Prisma.VerifyResultCreateManyInput,
  'target' | 'method' | 'status' | 'output' | 'durationMs'
>;

/**
 * A host's outcome from its stored results, as SQL both databases take: the newest passed or failed
 * result of each (target, method), then 'failed' when any of those failed, 'passed' when none did,
 * NULL when it has none. Ties on `at` count every result of that instant (a failure among them wins).
 * prisma/migrations/*_host_self_test filled the column with the same expression.
 */
const OUTCOME = Prisma.sql`(
  SELECT CASE MAX(CASE WHEN "v"."status" = 'failed' THEN 1 ELSE 0 END) WHEN 1 THEN 'failed' WHEN 0 THEN 'passed' END
  FROM "VerifyResult" AS "v"
  WHERE "v"."hostId" = "Host"."id" AND "v"."status" IN ('passed', 'failed')
    AND NOT EXISTS (
      SELECT 1 FROM "VerifyResult" AS "n"
      WHERE "n"."hostId" = "v"."hostId" AND "n"."target" = "v"."target" AND "n"."method" = "v"."method"
        AND "n"."status" IN ('passed', 'failed') AND "n"."at" > "v"."at"
    )
)`;

/**
 * Each host's self-test results, and the outcome of its latest ones kept on its row (Host.selfTest):
 * "needs attention" reads that column for every host instead of every result ever recorded.
 */
export class SelfTests {
  constructor(private readonly db: Db) {}

  /** Stores a verify's checks on `hostId` and brings the host's outcome up to date with them. */
  async record(hostId: string, jobId: string | null, checks: readonly SelfTestCheck[]): Promise<void> {
    if (checks.length === 0) return;
    await this.db.$transaction(async (tx) => {
      // The host's row is locked first: on PostgreSQL a second verify of the same host waits here,
      // then sees this one's results when it works out the outcome (else each could miss the other's).
      await tx.$executeRaw`UPDATE "Host" SET "selfTest" = "selfTest" WHERE "id" = ${hostId}`;
      await tx.verifyResult.createMany({ data: checks.map((c) => ({ ...c, hostId, jobId })) });
      // updatedAt as Prisma sets it on its own writes: the fleet's read models see the change (FleetReadCache).
      await tx.$executeRaw`UPDATE "Host" SET "selfTest" = ${OUTCOME}, "updatedAt" = ${new Date()} WHERE "id" = ${hostId}`;
    });
  }

  /** Works the outcome out again from the stored results, for every host: after results were written in bulk. */
  async refreshAll(): Promise<void> {
    await this.db.$executeRaw`UPDATE "Host" SET "selfTest" = ${OUTCOME}, "updatedAt" = ${new Date()}`;
  }
}
