-- CreateTable
CREATE TABLE "RevokedHostCredential" (
    "heartbeatTokenHash" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "revokedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedBy" TEXT NOT NULL,
    "firstRefusedAt" TIMESTAMP(3),

    CONSTRAINT "RevokedHostCredential_pkey" PRIMARY KEY ("heartbeatTokenHash")
);
