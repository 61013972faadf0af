-- A host's latest self-test outcome, kept on its row (see schema.prisma). PostgreSQL keeps large
-- values out of line (TOAST) already: the column order SQLite's migration changes does not matter here.

-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "selfTest" TEXT;

-- Each host's outcome from the results recorded so far: the newest passed or failed result of each
-- (target, method), 'failed' when any of those failed (as services/hosts/self-tests.ts keeps it).
UPDATE "Host" SET "selfTest" = (
    SELECT CASE MAX(CASE WHEN "v"."status" = 'failed' THEN 1 ELSE 0 END) WHEN 1 THEN 'failed' WHEN 0 THEN 'passed' END
    FROM "VerifyResult" AS "v"
    WHERE "v"."hostId" = "Host"."id" AND "v"."status" IN ('passed', 'failed')
      AND NOT EXISTS (
        SELECT 1 FROM "VerifyResult" AS "n"
        WHERE "n"."hostId" = "v"."hostId" AND "n"."target" = "v"."target" AND "n"."method" = "v"."method"
          AND "n"."status" IN ('passed', 'failed') AND "n"."at" > "v"."at"
      )
);
