-- CreateTable
CREATE TABLE "RevokedHostCredential" (
    "heartbeatTokenHash" TEXT NOT NULL PRIMARY KEY,
    "hostname" TEXT NOT NULL,
    "revokedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedBy" TEXT NOT NULL,
    "firstRefusedAt" DATETIME
);
