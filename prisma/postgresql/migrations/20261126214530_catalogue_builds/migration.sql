-- AlterTable
ALTER TABLE "Build" ADD COLUMN     "checks" JSONB,
ADD COLUMN     "options" JSONB,
ADD COLUMN     "packagePath" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "pushedTags" JSONB,
ADD COLUMN     "repositoryId" TEXT;

-- CreateIndex
CREATE INDEX "ImageTag_repositoryId_qemuVersion_idx" ON "ImageTag"("repositoryId", "qemuVersion");

-- CreateIndex
CREATE INDEX "ImageTag_repositoryId_fromArch_idx" ON "ImageTag"("repositoryId", "fromArch");

-- CreateIndex
CREATE INDEX "ImageTag_repositoryId_toArch_idx" ON "ImageTag"("repositoryId", "toArch");

-- AddForeignKey
ALTER TABLE "Build" ADD CONSTRAINT "Build_repositoryId_fkey" FOREIGN KEY ("repositoryId") REFERENCES "Repository"("id") ON DELETE SET NULL ON UPDATE CASCADE;
