-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Build" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "triggeredById" TEXT,
    "builderHostId" TEXT,
    "packageName" TEXT NOT NULL,
    "packageVersion" TEXT NOT NULL,
    "packageArch" TEXT NOT NULL,
    "packageSha256" TEXT NOT NULL,
    "qemuVersion" TEXT NOT NULL,
    "packagePath" TEXT NOT NULL DEFAULT '',
    "repositoryId" TEXT,
    "options" JSONB,
    "checks" JSONB,
    "pushedTags" JSONB,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "error" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "finishedAt" DATETIME,
    CONSTRAINT "Build_triggeredById_fkey" FOREIGN KEY ("triggeredById") REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Build_builderHostId_fkey" FOREIGN KEY ("builderHostId") REFERENCES "Host" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Build_repositoryId_fkey" FOREIGN KEY ("repositoryId") REFERENCES "Repository" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_Build" ("builderHostId", "createdAt", "error", "finishedAt", "id", "packageArch", "packageName", "packageSha256", "packageVersion", "qemuVersion", "startedAt", "status", "triggeredById") SELECT "builderHostId", "createdAt", "error", "finishedAt", "id", "packageArch", "packageName", "packageSha256", "packageVersion", "qemuVersion", "startedAt", "status", "triggeredById" FROM "Build";
DROP TABLE "Build";
ALTER TABLE "new_Build" RENAME TO "Build";
CREATE INDEX "Build_status_createdAt_idx" ON "Build"("status", "createdAt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "ImageTag_repositoryId_qemuVersion_idx" ON "ImageTag"("repositoryId", "qemuVersion");

-- CreateIndex
CREATE INDEX "ImageTag_repositoryId_fromArch_idx" ON "ImageTag"("repositoryId", "fromArch");

-- CreateIndex
CREATE INDEX "ImageTag_repositoryId_toArch_idx" ON "ImageTag"("repositoryId", "toArch");
