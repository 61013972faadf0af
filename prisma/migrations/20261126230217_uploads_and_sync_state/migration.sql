-- AlterTable
ALTER TABLE "Repository" ADD COLUMN "lastSyncAttemptAt" DATETIME;
ALTER TABLE "Repository" ADD COLUMN "lastSyncError" TEXT;
ALTER TABLE "Repository" ADD COLUMN "lastSyncSummary" TEXT;
ALTER TABLE "Repository" ADD COLUMN "syncClaimedAt" DATETIME;

-- CreateTable
CREATE TABLE "UploadedPackage" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "sha256" TEXT NOT NULL,
    "filename" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "architecture" TEXT NOT NULL,
    "uploadedById" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "UploadedPackage_uploadedById_fkey" FOREIGN KEY ("uploadedById") REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

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
    "packageId" TEXT,
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
    CONSTRAINT "Build_packageId_fkey" FOREIGN KEY ("packageId") REFERENCES "UploadedPackage" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Build_repositoryId_fkey" FOREIGN KEY ("repositoryId") REFERENCES "Repository" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_Build" ("builderHostId", "checks", "createdAt", "error", "finishedAt", "id", "options", "packageArch", "packageName", "packagePath", "packageSha256", "packageVersion", "pushedTags", "qemuVersion", "repositoryId", "startedAt", "status", "triggeredById") SELECT "builderHostId", "checks", "createdAt", "error", "finishedAt", "id", "options", "packageArch", "packageName", "packagePath", "packageSha256", "packageVersion", "pushedTags", "qemuVersion", "repositoryId", "startedAt", "status", "triggeredById" FROM "Build";
DROP TABLE "Build";
ALTER TABLE "new_Build" RENAME TO "Build";
CREATE INDEX "Build_status_createdAt_idx" ON "Build"("status", "createdAt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "UploadedPackage_sha256_key" ON "UploadedPackage"("sha256");

-- CreateIndex
CREATE INDEX "UploadedPackage_createdAt_idx" ON "UploadedPackage"("createdAt");
