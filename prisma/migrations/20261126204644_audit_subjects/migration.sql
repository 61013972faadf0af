-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_AuditEvent" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actorId" TEXT,
    "actorName" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "targets" JSONB NOT NULL,
    "subjects" TEXT NOT NULL DEFAULT '',
    "params" JSONB NOT NULL,
    "outcome" TEXT NOT NULL,
    "detail" TEXT
);
INSERT INTO "new_AuditEvent" ("action", "actorId", "actorName", "at", "detail", "id", "outcome", "params", "targets") SELECT "action", "actorId", "actorName", "at", "detail", "id", "outcome", "params", "targets" FROM "AuditEvent";
DROP TABLE "AuditEvent";
ALTER TABLE "new_AuditEvent" RENAME TO "AuditEvent";
CREATE INDEX "AuditEvent_at_idx" ON "AuditEvent"("at");
CREATE INDEX "AuditEvent_action_at_idx" ON "AuditEvent"("action", "at");
CREATE INDEX "AuditEvent_actorId_at_idx" ON "AuditEvent"("actorId", "at");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
