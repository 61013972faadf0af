import { randomUUID } from 'node:crypto';
import { createSecretBox, loadOrCreateSecretKeyFile, type Db } from '@binfleet/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../control-plane.ts';
import { TEST_ADMIN } from '../../testing/fixture.ts';
import {
  startInProcessControlPlane,
  type Caller,
  type InProcessControlPlane,
} from '../../testing/in-process-control-plane.ts';

// How a build ended, in the audit log: one row whichever path ends it, also when replicas end it at
// the same moment. Builds that run to success or are cancelled on a real builder are in
// builds.integration.test.ts; here the paths that need no image build, on both databases (two
// replicas on PostgreSQL, as job-outcome.integration.test.ts).
const REGISTRY = process.env.BINFLEET_REGISTRY ?? '127.0.0.1:5000';

describe.each([
  ['SQLite', 1, 'sqlite'],
  ['PostgreSQL', 2, 'postgresql'],
] as const)('build outcomes in the audit log on %s with %i replica(s)', (_name, replicaCount, database) => {
  let fixture: InProcessControlPlane;
  let db: Db;
  const replicas: ControlPlane[] = [];
  let admin: Caller;
  let repositoryId: string;
  let builderId: string;
  const repository = `binfleet-test/build-outcome-${database}`;

  beforeAll(async () => {
    fixture = await startInProcessControlPlane({
      name: 'build-outcome',
      database,
      env: { BINFLEET_JOB_MAX_ATTEMPTS: '1', BINFLEET_AGENT_CALL_TIMEOUT_MS: '2000' },
    });
    db = fixture.db;
    replicas.push(fixture.cp);
    for (let i = 1; i < replicaCount; i++) replicas.push(fixture.addReplica().cp);
    admin = await fixture.callerFor(TEST_ADMIN, replicas.at(-1));
    const registry = await admin.registries.create({ url: `http://${REGISTRY}` });
    repositoryId = (await admin.registries.addRepository({ registryId: registry.id, name: repository })).id;
    // A builder whose agent address refuses connections: starting a build on it fails at once.
    const box = createSecretBox(loadOrCreateSecretKeyFile(fixture.config.secretKeyFile));
    const agentId = `builder-${randomUUID()}`;
    builderId = (
      await db.host.create({
        data: {
          agentId,
          hostname: 'builder-down',
          agentUrl: 'http://127.0.0.1:9',
          agentTokenSealed: box.seal('unused-agent-token', `host:${agentId}:agentToken`),
          heartbeatTokenHash: randomUUID(),
          arch: 'x86_64',
        },
      })
    ).id;
  }, 120_000);

  afterAll(() => fixture?.stop());

  const start = () =>
    admin.builds.start({ hostId: builderId, repositoryId, packagePath: '/srv/qemu-user-static.deb' });
  const outcomes = (buildId: string) =>
    db.auditEvent
      .findMany({ where: { action: { in: ['build.succeeded', 'build.failed', 'build.cancelled'] } } })
      .then((events) => events.filter((e) => (e.params as { buildId?: string }).buildId === buildId));

  it('a build cancelled while queued: one build.cancelled row, by who cancelled it', async () => {
    const { id } = await start();
    await admin.builds.cancel({ id });
    await expect(admin.builds.cancel({ id })).rejects.toMatchObject({ code: 'CONFLICT' });
    const events = await outcomes(id);
    expect(events.map((e) => ({ action: e.action, actor: e.actorName, outcome: e.outcome }))).toEqual([
      { action: 'build.cancelled', actor: TEST_ADMIN.username, outcome: 'success' },
    ]);
    expect(events[0]!.params).toEqual({ buildId: id, repository: `${REGISTRY}/${repository}`, tags: [] });
    expect(events[0]!.targets).toEqual(['builder-down', `${REGISTRY}/${repository}`]);
    expect(events[0]!.detail).toBe('Cancelled before it started.');
  });

  it('a build its builder cannot start: one build.failed row with the reason, however many runners tick', async () => {
    const { id } = await start();
    await Promise.all(replicas.flatMap((cp) => [cp.buildRunner.tick(), cp.buildRunner.tick()]));
    const build = await db.build.findUniqueOrThrow({ where: { id } });
    expect(build.status).toBe('failed');
    const events = await outcomes(id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'build.failed', actorName: 'system', outcome: 'failure' });
    expect(events[0]!.detail).toBe(build.error);
    expect(events[0]!.params).toMatchObject({ buildId: id, repository: `${REGISTRY}/${repository}` });
  });

  it('replicas ending the same running build at the same moment write one row, with its pushed tags', async () => {
    for (let round = 0; round < 5; round++) {
      const { id } = await start();
      // As a builder leaves it when its report says succeeded: running, its tags pushed.
      await db.build.update({
        where: { id },
        data: {
          status: 'running',
          startedAt: new Date(),
          pushedTags: [
            { tag: 'latest', reference: `${REGISTRY}/${repository}:latest`, digest: 'sha256:0' },
            { tag: 'register', reference: `${REGISTRY}/${repository}:register`, digest: 'sha256:1' },
          ],
        },
      });
      const ended = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          replicas[i % replicas.length]!.builds.outcomes.finish(id, {
            status: i % 2 ? 'succeeded' : 'cancelled',
            error: null,
          }),
        ),
      );
      expect(ended.filter(Boolean)).toHaveLength(1);
      const events = await outcomes(id);
      expect(events).toHaveLength(1);
      const status = (await db.build.findUniqueOrThrow({ where: { id } })).status;
      expect(events[0]!.action).toBe(`build.${status}`);
      expect(events[0]!.params).toMatchObject({ buildId: id, tags: ['latest', 'register'] });
    }
  });
});
