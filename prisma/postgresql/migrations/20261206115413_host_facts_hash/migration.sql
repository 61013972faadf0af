-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "factsHash" TEXT;

-- Null on hosts that heartbeated before: an agent naming its facts by digest is answered `resend`
-- once, and its full heartbeat after that sets it.
