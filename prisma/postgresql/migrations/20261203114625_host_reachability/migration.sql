-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "agentVersion" TEXT,
ADD COLUMN     "binfmtMounted" BOOLEAN,
ADD COLUMN     "binfmtWritable" BOOLEAN,
ADD COLUMN     "reachCheckedAt" TIMESTAMP(3),
ADD COLUMN     "reachClaimedAt" TIMESTAMP(3),
ADD COLUMN     "reachError" TEXT,
ADD COLUMN     "reachable" BOOLEAN;

-- CreateIndex
CREATE INDEX "Host_reachClaimedAt_idx" ON "Host"("reachClaimedAt");

-- CreateIndex
CREATE INDEX "Host_agentUrl_idx" ON "Host"("agentUrl");
