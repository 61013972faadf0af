-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "reconcileError" TEXT,
ADD COLUMN     "reconcileErrorAt" TIMESTAMP(3),
ADD COLUMN     "refusedAgentUrl" TEXT;
