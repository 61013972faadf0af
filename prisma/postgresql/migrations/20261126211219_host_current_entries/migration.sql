-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "entries" JSONB,
ADD COLUMN     "entriesTakenAt" TIMESTAMP(3);
