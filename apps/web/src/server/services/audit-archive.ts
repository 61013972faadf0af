import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inBatches, Prisma, type Db } from '@binfleet/db';
import { ControlPlaneError } from '../errors.ts';
import type { Actor, AuditService } from './audit.ts';

/** Events archived by one command at most; run it again for more. */
const MAX_ARCHIVED = 100_000;

/**
 * Retention for the audit log, the only way an event ever leaves it: an admin's explicit command
 * writes the events older than a date to a JSON-lines file in the archive folder (0600), then deletes
 * them in the same transaction, through the database's gate (AuditRetentionGate: its triggers refuse
 * any other delete or update), and the command is itself audited. Nothing to archive is a failure, not
 * a success.
 */
export class AuditArchive {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly dir: string,
  ) {}

  async archive(actor: Actor, before: Date): Promise<{ archived: number; file: string }> {
    if (before.getTime() > Date.now())
      throw new ControlPlaneError('INVALID_INPUT', 'Archive events older than a date in the past.');
    const result = await this.db.$transaction(async (tx) => {
      const rows = await tx.auditEvent.findMany({
        where: { at: { lt: before } },
        orderBy: [{ at: 'asc' }, { id: 'asc' }],
        take: MAX_ARCHIVED,
      });
      if (rows.length === 0) return undefined;
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const file = join(
        this.dir,
        `audit-before-${before.toISOString().replace(/[:.]/g, '-')}-${Date.now()}.jsonl`,
      );
      writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n', { mode: 0o600, flag: 'wx' });
      await tx.auditRetentionGate.update({ where: { id: 1 }, data: { open: true } });
      // Raw: the client refuses deletes of audit events (createDb); the database allows this one
      // only while the gate is open.
      await inBatches(
        rows.map((r) => r.id),
        async (batch) => {
          await tx.$executeRaw`DELETE FROM "AuditEvent" WHERE "id" IN (${Prisma.join(batch)})`;
        },
      );
      await tx.auditRetentionGate.update({ where: { id: 1 }, data: { open: false } });
      return { archived: rows.length, file };
    });
    if (!result) {
      await this.audit.record({
        actor,
        action: 'audit.archive',
        params: { before: before.toISOString() },
        outcome: 'failure',
        detail: 'no events that old: nothing archived',
      });
      throw new ControlPlaneError(
        'NOT_FOUND',
        `No audit events before ${before.toISOString()}: nothing archived.`,
      );
    }
    await this.audit.record({
      actor,
      action: 'audit.archive',
      params: { before: before.toISOString(), archived: result.archived, file: result.file },
      outcome: 'success',
    });
    return result;
  }
}
