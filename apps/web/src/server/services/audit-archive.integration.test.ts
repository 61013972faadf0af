import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../testing/fixture.ts';
import {
  startInProcessControlPlane,
  type InProcessControlPlane,
} from '../testing/in-process-control-plane.ts';

// The audit log is append-only in the database itself, on both providers; events leave it only
// through the archive command, which is audited.
describe.each(DATABASES)('audit log on %s', (_name, database) => {
  let plane: InProcessControlPlane;

  beforeAll(async () => {
    plane = await startInProcessControlPlane({ name: 'audit-archive', database });
  }, 120_000);
  afterAll(async () => {
    await plane?.stop();
  });

  const record = (action: string) =>
    plane.cp.audit.record({ actor: plane.actor, action, targets: ['probe'], outcome: 'success' });

  it('the database refuses to update or delete an audit event, also through raw SQL', async () => {
    await record('probe.first');
    const count = await plane.db.auditEvent.count();
    await expect(plane.db.$executeRaw`UPDATE "AuditEvent" SET "detail" = 'forged'`).rejects.toThrow(
      /append-only/,
    );
    await expect(plane.db.$executeRaw`DELETE FROM "AuditEvent"`).rejects.toThrow(/append-only/);
    await expect(plane.db.auditEvent.deleteMany({})).rejects.toThrow();
    expect(await plane.db.auditEvent.count()).toBe(count);
    expect(await plane.db.auditEvent.count({ where: { detail: 'forged' } })).toBe(0);
  });

  it('archive moves older events to a private file, deletes only those, and is itself audited', async () => {
    await record('probe.old');
    await new Promise((r) => setTimeout(r, 20));
    const before = new Date();
    await new Promise((r) => setTimeout(r, 20));
    await record('probe.new');
    const older = await plane.db.auditEvent.count({ where: { at: { lt: before } } });
    const result = await plane.admin.audit.archive({ before });
    expect(result.archived).toBe(older);
    expect(statSync(result.file).mode & 0o777).toBe(0o600);
    const lines = readFileSync(result.file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string });
    expect(lines.map((l) => l.action)).toContain('probe.old');
    expect(await plane.db.auditEvent.count({ where: { at: { lt: before } } })).toBe(0);
    expect(await plane.db.auditEvent.count({ where: { action: 'probe.new' } })).toBe(1);
    expect(
      await plane.db.auditEvent.findFirst({ where: { action: 'audit.archive', outcome: 'success' } }),
    ).toMatchObject({ actorName: plane.actor.name });
    // The gate is closed again: a raw delete is refused as before.
    await expect(plane.db.$executeRaw`DELETE FROM "AuditEvent"`).rejects.toThrow(/append-only/);
  });

  it('archiving nothing is a failure, and audited as one', async () => {
    await expect(
      plane.admin.audit.archive({ before: new Date('2001-01-01T00:00:00Z') }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/nothing archived/),
    });
    expect(
      await plane.db.auditEvent.findFirst({ where: { action: 'audit.archive', outcome: 'failure' } }),
    ).not.toBeNull();
  });
});
