-- AlterTable
ALTER TABLE "Build" ADD COLUMN     "packageId" TEXT;

-- AlterTable
ALTER TABLE "Repository" ADD COLUMN     "lastSyncAttemptAt" TIMESTAMP(3),
ADD COLUMN     "lastSyncError" TEXT,
ADD COLUMN     "lastSyncSummary" TEXT,
ADD COLUMN     "syncClaimedAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "UploadedPackage" (
    "id" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "filename" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "architecture" TEXT NOT NULL,
    "uploadedById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "UploadedPackage_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "UploadedPackage_sha256_key" ON "UploadedPackage"("sha256");

-- CreateIndex
CREATE INDEX "UploadedPackage_createdAt_idx" ON "UploadedPackage"("createdAt");

-- AddForeignKey
ALTER TABLE "Build" ADD CONSTRAINT "Build_packageId_fkey" FOREIGN KEY ("packageId") REFERENCES "UploadedPackage"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UploadedPackage" ADD CONSTRAINT "UploadedPackage_uploadedById_fkey" FOREIGN KEY ("uploadedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;
