import { randomUUID } from 'node:crypto';
import { createSecretBox, loadOrCreateSecretKeyFile, type Db } from '@binfleet/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from './services/audit.ts';
import type { ControlPlane } from './services/control-plane.ts';
import { TEST_ADMIN } from './testing/fixture.ts';
import {
  startInProcessControlPlane,
  type Caller,
  type InProcessControlPlane,
} from './testing/in-process-control-plane.ts';

// A job's final outcome in the audit log, once per job. On PostgreSQL two replicas (each its own
// database client and job runner) share the database; SQLite is for one server process (several
// replicas need PostgreSQL, docs/control-plane.md), whose runner still finishes rows concurrently.
describe.each([
  ['SQLite', 1, 'sqlite'],
  ['PostgreSQL', 2, 'postgresql'],
] as const)('job outcome in the audit log on %s with %i replica(s)', (_name, replicaCount, database) => {
  let fixture: InProcessControlPlane;
  const dbs: Db[] = [];
  const replicas: ControlPlane[] = [];
  let actor: Actor;
  let seal: (token: string, context: string) => string;
  let admin: Caller;

  /** Hosts whose agent address refuses connections: every call to them fails at once. */
  const addHosts = async (prefix: string, n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const agentId = `${prefix}-${randomUUID()}`;
      const host = await dbs[0]!.host.create({
        data: {
          agentId,
          hostname: `${prefix}-${String(i).padStart(2, '0')}`,
          agentUrl: 'http://127.0.0.1:9',
          agentTokenSealed: seal('unused-agent-token', `host:${agentId}:agentToken`),
          heartbeatTokenHash: randomUUID(),
          arch: 'x86_64',
        },
      });
      ids.push(host.id);
    }
    return ids;
  };
  const finishedEvents = async (jobId: string) =>
    (await dbs[0]!.auditEvent.findMany({ where: { action: 'job.finished' } })).filter(
      (e) => (e.params as { jobId?: string }).jobId === jobId,
    );

  beforeAll(async () => {
    fixture = await startInProcessControlPlane({
      name: 'job-outcome',
      database,
      env: {
        BINFLEET_RUNNER_POLL_MS: '50',
        BINFLEET_JOB_MAX_ATTEMPTS: '1',
        BINFLEET_AGENT_CALL_TIMEOUT_MS: '2000',
      },
    });
    const box = createSecretBox(loadOrCreateSecretKeyFile(fixture.config.secretKeyFile));
    seal = (token, context) => box.seal(token, context);
    dbs.push(fixture.db);
    replicas.push(fixture.cp);
    for (let i = 1; i < replicaCount; i++) {
      const replica = fixture.addReplica();
      dbs.push(replica.db);
      replicas.push(replica.cp);
    }
    actor = fixture.actor;
    admin = await fixture.callerFor(TEST_ADMIN, replicas.at(-1));
  }, 60_000);

  afterAll(() => fixture?.stop());

  it('records how a job run by every replica ended, once, and the audit page lists it', async () => {
    const hostIds = await addHosts('down', 6);
    const { id } = await replicas[0]!.jobs.create(actor, { kind: 'verify' }, { hostIds });
    await Promise.all(replicas.map((cp) => cp.runner.drain(30_000)));

    const job = await replicas[0]!.jobs.get(id);
    expect(job.status).toBe('failed');
    expect(job.targets.every((t) => /unreachable/.test(t.error ?? ''))).toBe(true);

    const events = await finishedEvents(id);
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event!.actorName).toBe('system');
    expect(event!.outcome).toBe('failure');
    expect(event!.params).toMatchObject({
      jobId: id,
      kind: 'verify',
      status: 'failed',
      counts: { total: 6, succeeded: 0, failed: 6, cancelled: 0 },
    });
    expect(event!.detail).toBe(
      'Verify all: failed, 0 of 6 succeeded, 6 failed (failed: down-00, down-01, down-02, down-03, down-04 and 1 more).',
    );
    expect([...(event!.targets as string[])].sort()).toEqual(job.targets.map((t) => t.hostname).sort());

    // What the audit page reads: by action, and by host.
    const listed = await admin.audit.list({ action: 'job.finished', limit: 50 });
    expect(listed.items.map((e) => e.id)).toContain(event!.id);
    const byHost = await admin.audit.list({ host: 'down-03', limit: 50 });
    expect(byHost.items.map((e) => e.action).sort()).toEqual(['job.finished', 'job.verify']);
    // The page's "denied or failed" filter: the failed outcome stays, the accepted request goes.
    const problems = await admin.audit.list({ host: 'down-03', outcomes: ['failure', 'denied'], limit: 50 });
    expect(problems.items.map((e) => e.action)).toEqual(['job.finished']);
  });

  it('records a cancelled job once, with what had run', async () => {
    const hostIds = await addHosts('idle', 3);
    const { id } = await replicas[0]!.jobs.create(actor, { kind: 'verify' }, { hostIds });
    await replicas.at(-1)!.jobs.cancel(actor, id);
    const [event, ...more] = await finishedEvents(id);
    expect(more).toHaveLength(0);
    expect(event!.outcome).toBe('success');
    expect(event!.params).toMatchObject({
      status: 'cancelled',
      counts: { total: 3, succeeded: 0, failed: 0, cancelled: 3 },
    });
  });

  it('writes one event when many runners see the same job end at the same moment', async () => {
    const hostIds = await addHosts('race', 8);
    for (let round = 0; round < 5; round++) {
      const { id } = await replicas[0]!.jobs.create(actor, { kind: 'verify' }, { hostIds });
      // Every row finished, as runners leave them, and 16 row executions (a runner runs 8 at a
      // time) now recompute the job's status, as each does after finishing its row.
      await dbs[0]!.jobTarget.updateMany({
        where: { jobId: id },
        data: { status: 'succeeded', finishedAt: new Date() },
      });
      const statuses = await Promise.all(
        Array.from({ length: 16 }, (_, i) => replicas[i % replicas.length]!.jobs.refreshStatus(id)),
      );
      expect(new Set(statuses)).toEqual(new Set(['succeeded']));
      const events = await finishedEvents(id);
      expect(events).toHaveLength(1);
      expect(events[0]!.params).toMatchObject({ status: 'succeeded', counts: { total: 8, succeeded: 8 } });
    }
  });
});
