-- AlterTable
ALTER TABLE "Host" ADD COLUMN "reconcileError" TEXT;
ALTER TABLE "Host" ADD COLUMN "reconcileErrorAt" DATETIME;
ALTER TABLE "Host" ADD COLUMN "refusedAgentUrl" TEXT;
