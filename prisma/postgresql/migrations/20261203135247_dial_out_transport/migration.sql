-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "transport" TEXT NOT NULL DEFAULT 'direct';

-- CreateTable
CREATE TABLE "AgentCall" (
    "id" TEXT NOT NULL,
    "hostId" TEXT NOT NULL,
    "procedure" TEXT NOT NULL,
    "input" TEXT,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "channelId" TEXT,
    "outcome" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deadline" TIMESTAMP(3) NOT NULL,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "AgentCall_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AgentChannel" (
    "id" TEXT NOT NULL,
    "hostId" TEXT NOT NULL,
    "openedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "seenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AgentChannel_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AgentCall_hostId_status_idx" ON "AgentCall"("hostId", "status");

-- CreateIndex
CREATE INDEX "AgentChannel_hostId_idx" ON "AgentChannel"("hostId");

-- AddForeignKey
ALTER TABLE "AgentCall" ADD CONSTRAINT "AgentCall_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AgentChannel" ADD CONSTRAINT "AgentChannel_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE CASCADE ON UPDATE CASCADE;
