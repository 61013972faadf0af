-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "credentialRotatedAt" TIMESTAMP(3),
ADD COLUMN     "credentialRotationAskedAt" TIMESTAMP(3),
ADD COLUMN     "credentialRotationAskedBy" TEXT,
ADD COLUMN     "pendingCredentialSealed" TEXT,
ADD COLUMN     "pendingHeartbeatTokenHash" TEXT;

-- AlterTable
ALTER TABLE "RevokedHostCredential" ADD COLUMN     "reason" TEXT NOT NULL DEFAULT 'removed';

-- CreateIndex
CREATE UNIQUE INDEX "Host_pendingHeartbeatTokenHash_key" ON "Host"("pendingHeartbeatTokenHash");
