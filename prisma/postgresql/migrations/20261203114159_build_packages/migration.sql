-- AlterTable
ALTER TABLE "Build" ADD COLUMN     "packageFacts" JSONB;

-- CreateTable
CREATE TABLE "BuildPackage" (
    "id" TEXT NOT NULL,
    "buildId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "path" TEXT NOT NULL DEFAULT '',
    "packageId" TEXT,

    CONSTRAINT "BuildPackage_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "BuildPackage_packageId_idx" ON "BuildPackage"("packageId");

-- CreateIndex
CREATE UNIQUE INDEX "BuildPackage_buildId_position_key" ON "BuildPackage"("buildId", "position");

-- AddForeignKey
ALTER TABLE "BuildPackage" ADD CONSTRAINT "BuildPackage_buildId_fkey" FOREIGN KEY ("buildId") REFERENCES "Build"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BuildPackage" ADD CONSTRAINT "BuildPackage_packageId_fkey" FOREIGN KEY ("packageId") REFERENCES "UploadedPackage"("id") ON DELETE SET NULL ON UPDATE CASCADE;
