-- AlterTable
ALTER TABLE "Host" ADD COLUMN "entries" JSONB;
ALTER TABLE "Host" ADD COLUMN "entriesTakenAt" DATETIME;
