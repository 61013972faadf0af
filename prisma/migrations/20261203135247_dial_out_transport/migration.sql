-- CreateTable
CREATE TABLE "AgentCall" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "hostId" TEXT NOT NULL,
    "procedure" TEXT NOT NULL,
    "input" TEXT,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "channelId" TEXT,
    "outcome" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deadline" DATETIME NOT NULL,
    "finishedAt" DATETIME,
    CONSTRAINT "AgentCall_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "AgentChannel" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "hostId" TEXT NOT NULL,
    "openedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "seenAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "AgentChannel_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

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
    "facts" JSONB,
    "entries" JSONB,
    "entriesTakenAt" DATETIME,
    "reconcileError" TEXT,
    "reconcileErrorAt" DATETIME,
    "agentVersion" TEXT,
    "binfmtMounted" BOOLEAN,
    "binfmtWritable" BOOLEAN,
    "reachable" BOOLEAN,
    "reachError" TEXT,
    "reachCheckedAt" DATETIME,
    "reachClaimedAt" DATETIME,
    "groupName" TEXT,
    "joinTokenId" TEXT,
    "lastSeenAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Host_joinTokenId_fkey" FOREIGN KEY ("joinTokenId") REFERENCES "JoinToken" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_Host" ("agentId", "agentTokenSealed", "agentUrl", "agentVersion", "arch", "binfmtMounted", "binfmtWritable", "createdAt", "dockerVersion", "entries", "entriesTakenAt", "facts", "groupName", "heartbeatTokenHash", "hostname", "id", "joinTokenId", "kernel", "lastSeenAt", "machineId", "reachCheckedAt", "reachClaimedAt", "reachError", "reachable", "reconcileError", "reconcileErrorAt", "refusedAgentUrl", "updatedAt") SELECT "agentId", "agentTokenSealed", "agentUrl", "agentVersion", "arch", "binfmtMounted", "binfmtWritable", "createdAt", "dockerVersion", "entries", "entriesTakenAt", "facts", "groupName", "heartbeatTokenHash", "hostname", "id", "joinTokenId", "kernel", "lastSeenAt", "machineId", "reachCheckedAt", "reachClaimedAt", "reachError", "reachable", "reconcileError", "reconcileErrorAt", "refusedAgentUrl", "updatedAt" FROM "Host";
DROP TABLE "Host";
ALTER TABLE "new_Host" RENAME TO "Host";
CREATE UNIQUE INDEX "Host_agentId_key" ON "Host"("agentId");
CREATE UNIQUE INDEX "Host_heartbeatTokenHash_key" ON "Host"("heartbeatTokenHash");
CREATE INDEX "Host_groupName_idx" ON "Host"("groupName");
CREATE INDEX "Host_lastSeenAt_idx" ON "Host"("lastSeenAt");
CREATE INDEX "Host_reachClaimedAt_idx" ON "Host"("reachClaimedAt");
CREATE INDEX "Host_agentUrl_idx" ON "Host"("agentUrl");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "AgentCall_hostId_status_idx" ON "AgentCall"("hostId", "status");

-- CreateIndex
CREATE INDEX "AgentChannel_hostId_idx" ON "AgentChannel"("hostId");
