-- CreateTable
CREATE TABLE "AuditRetentionGate" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "open" BOOLEAN NOT NULL DEFAULT false
);

-- Append-only audit log, enforced by the database (see AuditRetentionGate in schema.prisma).
INSERT INTO "AuditRetentionGate" ("id", "open") VALUES (1, false);

CREATE TRIGGER "AuditEvent_no_update" BEFORE UPDATE ON "AuditEvent"
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER "AuditEvent_no_delete" BEFORE DELETE ON "AuditEvent"
WHEN NOT EXISTS (SELECT 1 FROM "AuditRetentionGate" WHERE "open" = 1)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: old events leave it only through the archive command');
END;
