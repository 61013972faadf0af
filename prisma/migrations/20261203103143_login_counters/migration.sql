-- CreateTable
CREATE TABLE "LoginCounter" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "key" TEXT NOT NULL,
    "windowStart" DATETIME NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,
    "reported" BOOLEAN NOT NULL DEFAULT false
);

-- CreateIndex
CREATE INDEX "LoginCounter_windowStart_idx" ON "LoginCounter"("windowStart");
