-- CreateTable
CREATE TABLE "AuditRetentionGate" (
    "id" INTEGER NOT NULL,
    "open" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "AuditRetentionGate_pkey" PRIMARY KEY ("id")
);

-- Append-only audit log, enforced by the database (see AuditRetentionGate in schema.prisma).
INSERT INTO "AuditRetentionGate" ("id", "open") VALUES (1, false);

-- Migrations are sent statement by statement, split at every semicolon: the body is a Unicode-escaped
-- string whose semicolons are written \003B.
CREATE FUNCTION "binfleet_audit_append_only"() RETURNS trigger LANGUAGE plpgsql AS U&'
BEGIN
    IF TG_OP = ''DELETE'' AND EXISTS (SELECT 1 FROM "AuditRetentionGate" WHERE "open") THEN
        RETURN OLD\003B
    END IF\003B
    RAISE EXCEPTION ''the audit log is append-only: old events leave it only through the archive command''\003B
END
';

CREATE TRIGGER "AuditEvent_append_only" BEFORE UPDATE OR DELETE ON "AuditEvent"
    FOR EACH ROW EXECUTE FUNCTION "binfleet_audit_append_only"();

CREATE TRIGGER "AuditEvent_no_truncate" BEFORE TRUNCATE ON "AuditEvent"
    FOR EACH STATEMENT EXECUTE FUNCTION "binfleet_audit_append_only"();
