/*
  Warnings:

  - A unique constraint covering the columns `[pendingHeartbeatTokenHash]` on the table `Host` will be added. If there are existing duplicate values, this will fail.

*/
-- AlterTable
ALTER TABLE "Host" ADD COLUMN "credentialRotatedAt" DATETIME;
ALTER TABLE "Host" ADD COLUMN "credentialRotationAskedAt" DATETIME;
ALTER TABLE "Host" ADD COLUMN "credentialRotationAskedBy" TEXT;
ALTER TABLE "Host" ADD COLUMN "pendingCredentialSealed" TEXT;
ALTER TABLE "Host" ADD COLUMN "pendingHeartbeatTokenHash" TEXT;

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_RevokedHostCredential" (
    "heartbeatTokenHash" TEXT NOT NULL PRIMARY KEY,
    "hostname" TEXT NOT NULL,
    "revokedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedBy" TEXT NOT NULL,
    "reason" TEXT NOT NULL DEFAULT 'removed',
    "firstRefusedAt" DATETIME
);
INSERT INTO "new_RevokedHostCredential" ("firstRefusedAt", "heartbeatTokenHash", "hostname", "revokedAt", "revokedBy") SELECT "firstRefusedAt", "heartbeatTokenHash", "hostname", "revokedAt", "revokedBy" FROM "RevokedHostCredential";
DROP TABLE "RevokedHostCredential";
ALTER TABLE "new_RevokedHostCredential" RENAME TO "RevokedHostCredential";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "Host_pendingHeartbeatTokenHash_key" ON "Host"("pendingHeartbeatTokenHash");
