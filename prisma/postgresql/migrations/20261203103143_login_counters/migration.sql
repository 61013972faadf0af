-- CreateTable
CREATE TABLE "LoginCounter" (
    "id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "windowStart" TIMESTAMP(3) NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,
    "reported" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "LoginCounter_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "LoginCounter_windowStart_idx" ON "LoginCounter"("windowStart");
