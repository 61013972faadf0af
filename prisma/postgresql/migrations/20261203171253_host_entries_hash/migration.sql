-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "entriesHash" TEXT;

-- Hosts carry a copy of their latest snapshot's entries, so their hash is that snapshot's.
UPDATE "Host" SET "entriesHash" = (
    SELECT "contentHash" FROM "HostSnapshot"
    WHERE "HostSnapshot"."hostId" = "Host"."id"
    ORDER BY "takenAt" DESC
    LIMIT 1
);
