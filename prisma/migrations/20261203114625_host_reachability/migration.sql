-- AlterTable
ALTER TABLE "Host" ADD COLUMN "agentVersion" TEXT;
ALTER TABLE "Host" ADD COLUMN "binfmtMounted" BOOLEAN;
ALTER TABLE "Host" ADD COLUMN "binfmtWritable" BOOLEAN;
ALTER TABLE "Host" ADD COLUMN "reachCheckedAt" DATETIME;
ALTER TABLE "Host" ADD COLUMN "reachClaimedAt" DATETIME;
ALTER TABLE "Host" ADD COLUMN "reachError" TEXT;
ALTER TABLE "Host" ADD COLUMN "reachable" BOOLEAN;

-- CreateIndex
CREATE INDEX "Host_reachClaimedAt_idx" ON "Host"("reachClaimedAt");

-- CreateIndex
CREATE INDEX "Host_agentUrl_idx" ON "Host"("agentUrl");
