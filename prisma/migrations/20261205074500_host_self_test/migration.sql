-- A host's latest self-test outcome, kept on its row (see schema.prisma), and the Host table rebuilt
-- with its two large JSON columns (facts, entries) last: SQLite keeps a row's columns in table order
-- and the JSON spills onto overflow pages, so reading any column after it walked those pages (the
-- fleet page's scans over every host read entriesHash, the last column until now).

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Host" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "agentId" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "machineId" TEXT,
    "agentUrl" TEXT NOT NULL,
    "refusedAgentUrl" TEXT,
    "agentTokenSealed" TEXT NOT NULL,
    "transport" TEXT NOT NULL DEFAULT 'direct',
    "heartbeatTokenHash" TEXT NOT NULL,
    "arch" TEXT,
    "kernel" TEXT,
    "dockerVersion" TEXT,
    "entriesTakenAt" DATETIME,
    "entriesHash" TEXT,
    "reconcileError" TEXT,
    "reconcileErrorAt" DATETIME,
    "agentVersion" TEXT,
    "binfmtMounted" BOOLEAN,
    "binfmtWritable" BOOLEAN,
    "selfTest" TEXT,
    "reachable" BOOLEAN,
    "reachError" TEXT,
    "reachCheckedAt" DATETIME,
    "reachClaimedAt" DATETIME,
    "pendingCredentialSealed" TEXT,
    "pendingHeartbeatTokenHash" TEXT,
    "credentialRotationAskedAt" DATETIME,
    "credentialRotationAskedBy" TEXT,
    "credentialRotatedAt" DATETIME,
    "groupName" TEXT,
    "joinTokenId" TEXT,
    "lastSeenAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "facts" JSONB,
    "entries" JSONB,
    CONSTRAINT "Host_joinTokenId_fkey" FOREIGN KEY ("joinTokenId") REFERENCES "JoinToken" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_Host" ("id", "agentId", "hostname", "machineId", "agentUrl", "refusedAgentUrl", "agentTokenSealed", "transport", "heartbeatTokenHash", "arch", "kernel", "dockerVersion", "entriesTakenAt", "entriesHash", "reconcileError", "reconcileErrorAt", "agentVersion", "binfmtMounted", "binfmtWritable", "reachable", "reachError", "reachCheckedAt", "reachClaimedAt", "pendingCredentialSealed", "pendingHeartbeatTokenHash", "credentialRotationAskedAt", "credentialRotationAskedBy", "credentialRotatedAt", "groupName", "joinTokenId", "lastSeenAt", "createdAt", "updatedAt", "facts", "entries") SELECT "id", "agentId", "hostname", "machineId", "agentUrl", "refusedAgentUrl", "agentTokenSealed", "transport", "heartbeatTokenHash", "arch", "kernel", "dockerVersion", "entriesTakenAt", "entriesHash", "reconcileError", "reconcileErrorAt", "agentVersion", "binfmtMounted", "binfmtWritable", "reachable", "reachError", "reachCheckedAt", "reachClaimedAt", "pendingCredentialSealed", "pendingHeartbeatTokenHash", "credentialRotationAskedAt", "credentialRotationAskedBy", "credentialRotatedAt", "groupName", "joinTokenId", "lastSeenAt", "createdAt", "updatedAt", "facts", "entries" FROM "Host";
DROP TABLE "Host";
ALTER TABLE "new_Host" RENAME TO "Host";
CREATE UNIQUE INDEX "Host_agentId_key" ON "Host"("agentId");
CREATE UNIQUE INDEX "Host_heartbeatTokenHash_key" ON "Host"("heartbeatTokenHash");
CREATE UNIQUE INDEX "Host_pendingHeartbeatTokenHash_key" ON "Host"("pendingHeartbeatTokenHash");
CREATE INDEX "Host_groupName_idx" ON "Host"("groupName");
CREATE INDEX "Host_lastSeenAt_idx" ON "Host"("lastSeenAt");
CREATE INDEX "Host_reachClaimedAt_idx" ON "Host"("reachClaimedAt");
CREATE INDEX "Host_agentUrl_idx" ON "Host"("agentUrl");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- Each host's outcome from the results recorded so far: the newest passed or failed result of each
-- (target, method), 'failed' when any of those failed (as services/hosts/self-tests.ts keeps it).
UPDATE "Host" SET "selfTest" = (
    SELECT CASE MAX(CASE WHEN "v"."status" = 'failed' THEN 1 ELSE 0 END) WHEN 1 THEN 'failed' WHEN 0 THEN 'passed' END
    FROM "VerifyResult" AS "v"
    WHERE "v"."hostId" = "Host"."id" AND "v"."status" IN ('passed', 'failed')
      AND NOT EXISTS (
        SELECT 1 FROM "VerifyResult" AS "n"
        WHERE "n"."hostId" = "v"."hostId" AND "n"."target" = "v"."target" AND "n"."method" = "v"."method"
          AND "n"."status" IN ('passed', 'failed') AND "n"."at" > "v"."at"
      )
);
