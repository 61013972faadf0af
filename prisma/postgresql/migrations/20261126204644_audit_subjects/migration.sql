-- AlterTable
ALTER TABLE "AuditEvent" ADD COLUMN     "subjects" TEXT NOT NULL DEFAULT '';
