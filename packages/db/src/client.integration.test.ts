import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditLogAppendOnlyError,
  claimJobTarget,
  claimJobTargets,
  createDb,
  inBatches,
  jsonValue,
  migrateDeploy,
  Prisma,
  type Db,
} from './index.ts';
import {
  createThrowawayPostgresDatabase,
  createThrowawaySqliteDatabase,
  type ThrowawayDatabase,
} from './testing.ts';

const PROVIDERS = {
  sqlite: async () => createThrowawaySqliteDatabase(),
  postgresql: () => createThrowawayPostgresDatabase('binfleet_db_test'),
};

describe.each(Object.entries(PROVIDERS))('@binfleet/db on %s', (_provider, createDatabase) => {
  let database: ThrowawayDatabase;
  let db: Db;
  let rival: Db;

  beforeAll(async () => {
    database = await createDatabase();
    await migrateDeploy(database.url);
    db = createDb(database.url);
    // A second client with its own connections: another web replica.
    rival = createDb(database.url);
  });

  afterAll(async () => {
    await db?.$disconnect();
    await rival?.$disconnect();
    await database?.drop();
  });

  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${++counter}`;

  async function createHost(overrides: Partial<Prisma.HostCreateInput> = {}) {
    const agentId = unique('agent');
    return db.host.create({
      data: {
        agentId,
        hostname: `${agentId}.example`,
        agentUrl: 'http://127.0.0.1:7070',
        agentTokenSealed: 'v1:sealed',
        heartbeatTokenHash: unique('heartbeat-hash'),
        ...overrides,
      },
    });
  }

  async function createJobTargets(count: number) {
    const hosts = await Promise.all(Array.from({ length: count }, () => createHost()));
    const job = await db.job.create({
      data: {
        kind: 'verify',
        params: { targets: ['aarch64'] },
        targets: { create: hosts.map((host) => ({ hostId: host.id })) },
      },
      include: { targets: true },
    });
    return job.targets;
  }

  it('reads and deletes by lists longer than SQLite takes bind parameters, beside another condition, in batches', async () => {
    const group = unique('batch-group');
    const many = 1_200;
    await db.host.createMany({
      data: Array.from({ length: many }, (_, i) => {
        const agentId = unique('batch-agent');
        return {
          agentId,
          hostname: `${group}-${String(i).padStart(4, '0')}`,
          agentUrl: `http://127.0.0.1:9/${agentId}`,
          agentTokenSealed: 'v1:sealed',
          heartbeatTokenHash: unique('batch-hash'),
          groupName: group,
        };
      }),
    });
    const ids = (await db.host.findMany({ where: { groupName: group }, select: { id: true } })).map(
      (h) => h.id,
    );
    // `in` + orderBy (and + groupBy): the shapes Prisma does not split itself.
    const read = await inBatches(ids, (batch) =>
      db.host.findMany({ where: { id: { in: batch } }, orderBy: { hostname: 'asc' }, select: { id: true } }),
    );
    expect(read).toHaveLength(many);
    const counted = await inBatches(ids, (batch) =>
      db.host.groupBy({ by: ['groupName'], where: { id: { in: batch } }, _count: { _all: true } }),
    );
    expect(counted.reduce((n, c) => n + c._count._all, 0)).toBe(many);
    await inBatches(ids, async (batch) => {
      await db.host.deleteMany({ where: { groupName: group, id: { in: batch } } });
    });
    expect(await db.host.count({ where: { groupName: group } })).toBe(0);
  });

  it('round-trips users, hosts with JSON facts, snapshots, jobs and their per-host rows', async () => {
    const admin = await db.user.create({
      data: { username: unique('admin'), passwordHash: 'scrypt$x', role: 'admin' },
    });
    const facts = {
      binfmtMounted: true,
      interpreters: [{ path: '/usr/bin/qemu-aarch64-static', version: '7.2.9' }],
    };
    const host = await createHost({ arch: 'x86_64', kernel: '6.18.0', facts, groupName: 'ci' });
    const entries = [
      { name: 'qemu-aarch64', enabled: true, flags: 'OCF', interpreter: '/usr/bin/qemu-aarch64-static' },
    ];
    await db.hostSnapshot.create({ data: { hostId: host.id, contentHash: 'sha256:1', entries } });
    const job = await db.job.create({
      data: {
        kind: 'reset-register',
        params: { flags: 'OCF' },
        createdById: admin.id,
        targets: { create: [{ hostId: host.id }] },
      },
    });

    const loaded = await db.host.findUniqueOrThrow({
      where: { agentId: host.agentId },
      include: { snapshots: true, jobTargets: { include: { job: { include: { createdBy: true } } } } },
    });
    expect(loaded.facts).toEqual(facts);
    expect(loaded.snapshots.map((snapshot) => snapshot.entries)).toEqual([entries]);
    expect(loaded.jobTargets).toHaveLength(1);
    expect(loaded.jobTargets[0]).toMatchObject({
      jobId: job.id,
      status: 'queued',
      attempts: 0,
      result: null,
    });
    expect(loaded.jobTargets[0]?.job.createdBy?.role).toBe('admin');
  });

  it('stores a jsonValue as the JSON it was given: nested data, text that looks like SQL or JSON, a $type key', async () => {
    const facts = {
      binfmtMounted: true,
      interpreters: [{ path: '/usr/bin/qemu-aarch64-static', version: '7.2.9', sizes: [0, -1.5, 1e21] }],
      quoted: `it's "quoted"; DROP TABLE "Host"; -- \\ ü 🦀`,
      nothing: null,
      empty: { list: [], object: {} },
      $type: 'Param',
      tagged: { $type: 'Json', value: '{"not":"parsed"}' },
    };
    const host = await createHost({ facts: jsonValue(facts) });
    const read = await db.host.findUniqueOrThrow({ where: { id: host.id }, select: { facts: true } });
    expect(read.facts).toEqual(facts);
    await db.host.update({ where: { id: host.id }, data: { facts: jsonValue([1, 'two', { three: 3 }]) } });
    const list = await db.host.findUniqueOrThrow({ where: { id: host.id }, select: { facts: true } });
    expect(list.facts).toEqual([1, 'two', { three: 3 }]);
    const rows = await db.host.updateMany({ where: { id: host.id }, data: { facts: jsonValue('text') } });
    expect(rows.count).toBe(1);
    expect((await db.host.findUniqueOrThrow({ where: { id: host.id } })).facts).toBe('text');
  });

  it('keeps one host per agent: a re-join updates the row, a duplicate agentId is refused', async () => {
    const host = await createHost({ hostname: 'before' });
    const rejoined = await db.host.upsert({
      where: { agentId: host.agentId },
      update: { hostname: 'after', heartbeatTokenHash: unique('new-heartbeat-hash') },
      create: {
        agentId: host.agentId,
        hostname: 'never',
        agentUrl: 'x',
        agentTokenSealed: 'x',
        heartbeatTokenHash: 'x',
      },
    });
    expect(rejoined).toMatchObject({ id: host.id, hostname: 'after' });
    await expect(createHost({ agentId: host.agentId })).rejects.toMatchObject({ code: 'P2002' });
  });

  it('deletes a host with its snapshots, verify results and job rows, and keeps the audit log', async () => {
    const host = await createHost();
    await db.hostSnapshot.create({ data: { hostId: host.id, contentHash: 'sha256:2', entries: [] } });
    await db.verifyResult.create({
      data: {
        hostId: host.id,
        target: 'aarch64',
        method: 'binary',
        status: 'passed',
        output: 'aarch64',
        durationMs: 12,
      },
    });
    await db.auditEvent.create({
      data: {
        actorName: 'admin',
        action: 'host.delete',
        targets: [{ hostId: host.id }],
        params: {},
        outcome: 'success',
      },
    });

    await db.host.delete({ where: { id: host.id } });

    expect(await db.hostSnapshot.count({ where: { hostId: host.id } })).toBe(0);
    expect(await db.verifyResult.count({ where: { hostId: host.id } })).toBe(0);
    expect(await db.auditEvent.count({ where: { action: 'host.delete' } })).toBe(1);
  });

  it('refuses to change or delete audit events', async () => {
    const event = await db.auditEvent.create({
      data: {
        actorName: 'system',
        action: 'policy.update',
        targets: [],
        params: { autoHeal: true },
        outcome: 'success',
      },
    });
    await expect(db.auditEvent.update({ where: { id: event.id }, data: { detail: 'x' } })).rejects.toThrow(
      AuditLogAppendOnlyError,
    );
    await expect(db.auditEvent.deleteMany({})).rejects.toThrow(AuditLogAppendOnlyError);
    expect(await db.auditEvent.findUnique({ where: { id: event.id } })).toMatchObject({ detail: null });
  });

  it('stores the catalogue: tags unique per repository, sizes beyond 32 bits, build provenance', async () => {
    const registry = await db.registry.create({ data: { url: `http://${unique('registry')}:5000` } });
    const build = await db.build.create({
      data: {
        packageName: 'qemu-user-static',
        packageVersion: '1:7.2+dfsg-7',
        packageArch: 'amd64',
        packageSha256: 'a'.repeat(64),
        qemuVersion: '7.2.0',
        steps: {
          create: [{ position: 0, name: 'unpack', status: 'succeeded', durationMs: 800, log: 'ok\n' }],
        },
      },
    });
    const repository = await db.repository.create({
      data: { registryId: registry.id, name: 'binfleet/qemu-user-static' },
    });
    const size = 5n * 1024n ** 3n;
    await db.imageTag.create({
      data: {
        repositoryId: repository.id,
        tag: 'x86_64-aarch64-7.2.0-1',
        digest: 'sha256:abc',
        size,
        buildId: build.id,
      },
    });

    const tag = await db.imageTag.findFirstOrThrow({
      where: { repositoryId: repository.id },
      include: { build: { include: { steps: true } } },
    });
    expect(tag.size).toBe(size);
    expect(tag.build?.steps.map((step) => step.name)).toEqual(['unpack']);
    await expect(
      db.imageTag.create({
        data: { repositoryId: repository.id, tag: 'x86_64-aarch64-7.2.0-1', digest: 'sha256:def' },
      }),
    ).rejects.toMatchObject({ code: 'P2002' });
  });

  it('gives each job target to exactly one of two replicas racing for it', async () => {
    const targets = await createJobTargets(12);
    const claims = await Promise.all(
      targets.flatMap((target) =>
        (
          [
            [db, 'replica-a'],
            [rival, 'replica-b'],
          ] as const
        ).map(async ([client, runnerId]) => ({
          target: target.id,
          runnerId,
          won: await claimJobTarget(client, { jobTargetId: target.id, runnerId, leaseMs: 60_000 }),
        })),
      ),
    );

    for (const target of targets) {
      const winners = claims.filter((claim) => claim.target === target.id && claim.won);
      expect(winners).toHaveLength(1);
      const row = await db.jobTarget.findUniqueOrThrow({ where: { id: target.id } });
      expect(row).toMatchObject({ status: 'running', attempts: 1, claimedBy: winners[0]?.runnerId });
    }
  });

  it('gives each job target of a batch claim to exactly one of two replicas claiming the same rows', async () => {
    const targets = await createJobTargets(12);
    const ids = targets.map((t) => t.id);
    const [a, b] = await Promise.all([
      claimJobTargets(db, { jobTargetIds: ids, runnerId: 'replica-a', leaseMs: 60_000 }),
      claimJobTargets(rival, { jobTargetIds: [...ids].reverse(), runnerId: 'replica-b', leaseMs: 60_000 }),
    ]);
    expect([...a, ...b].sort()).toEqual([...ids].sort());
    const rows = await db.jobTarget.findMany({ where: { id: { in: ids } } });
    for (const row of rows) {
      expect(row).toMatchObject({ status: 'running', attempts: 1 });
      expect(row.claimedBy).toBe(a.includes(row.id) ? 'replica-a' : 'replica-b');
    }
    // Claimed again: a lease that holds keeps every row where it is.
    expect(
      await claimJobTargets(rival, { jobTargetIds: ids, runnerId: 'replica-c', leaseMs: 60_000 }),
    ).toEqual([]);
  });

  it('takes over a row whose lease expired, but not one whose lease holds or whose retry is not due', async () => {
    const [held, expired, notDue] = await createJobTargets(3);
    const now = new Date();
    expect(await claimJobTarget(db, { jobTargetId: held!.id, runnerId: 'a', leaseMs: 60_000, now })).toBe(
      true,
    );
    expect(await claimJobTarget(db, { jobTargetId: expired!.id, runnerId: 'a', leaseMs: 1_000, now })).toBe(
      true,
    );
    await db.jobTarget.update({
      where: { id: notDue!.id },
      data: { runAfter: new Date(now.getTime() + 30_000) },
    });

    const later = new Date(now.getTime() + 5_000);
    expect(
      await claimJobTarget(rival, { jobTargetId: held!.id, runnerId: 'b', leaseMs: 60_000, now: later }),
    ).toBe(false);
    expect(
      await claimJobTarget(rival, { jobTargetId: expired!.id, runnerId: 'b', leaseMs: 60_000, now: later }),
    ).toBe(true);
    expect(
      await claimJobTarget(rival, { jobTargetId: notDue!.id, runnerId: 'b', leaseMs: 60_000, now: later }),
    ).toBe(false);
    expect(await db.jobTarget.findUniqueOrThrow({ where: { id: expired!.id } })).toMatchObject({
      claimedBy: 'b',
      attempts: 2,
    });
  });
});

describe('@binfleet/db on postgresql with a busy connection pool', () => {
  let database: ThrowawayDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createThrowawayPostgresDatabase('binfleet_db_test');
    await migrateDeploy(database.url);
    db = createDb(database.url);
  });

  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  it('starts a transaction once a connection frees up, although every one was busy for longer than 2 s (4 s)', async () => {
    // Every connection of the pool (10) busy for 4 s: 20 reads of 2 s each, as many dashboard reads at
    // once would keep it. Prisma's default (maxWait 2 s) gave up with "Unable to start a transaction in
    // the given time" (checked against a client without the option: it fails after 2.3 s).
    const busy = Array.from({ length: 20 }, () => db.$queryRawUnsafe('SELECT 1 AS one FROM pg_sleep(2)'));
    await new Promise((r) => setTimeout(r, 200));
    const user = await db.$transaction(async (tx) =>
      tx.user.create({ data: { username: 'waited', passwordHash: 'x', role: 'viewer' } }),
    );
    await Promise.all(busy);
    expect(await db.user.findUnique({ where: { id: user.id } })).toMatchObject({ username: 'waited' });
  });
});

describe('@binfleet/db on postgresql in a schema of its own (?schema=)', () => {
  let database: ThrowawayDatabase;
  let db: Db;
  let url: string;

  beforeAll(async () => {
    database = await createThrowawayPostgresDatabase('binfleet_db_test');
    // A name that needs quoting in SQL (a dash).
    url = `${database.url}${database.url.includes('?') ? '&' : '?'}schema=${encodeURIComponent('fleet-b')}`;
    await migrateDeploy(url);
    db = createDb(url);
  });

  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  it("puts the tables in that schema, and raw statements find them there as Prisma's own queries do", async () => {
    await db.host.create({
      data: {
        agentId: 'schema-agent',
        hostname: 'schema-host',
        agentUrl: 'http://127.0.0.1:9',
        agentTokenSealed: 'x',
        heartbeatTokenHash: 'schema-hash',
      },
    });
    const [where] = await db.$queryRaw<{ schema: string }[]>`
      SELECT table_schema AS "schema" FROM information_schema.tables WHERE table_name = 'Host'`;
    expect(where).toEqual({ schema: 'fleet-b' });
    // Every connection of the pool, not only the first: more reads at once than one connection serves.
    const counts = await Promise.all(
      Array.from({ length: 12 }, () => db.$queryRaw<{ n: bigint }[]>`SELECT COUNT(*) AS "n" FROM "Host"`),
    );
    expect(counts.map(([c]) => Number(c!.n))).toEqual(Array(12).fill(1));
    expect(
      await db.$executeRaw`UPDATE "Host" SET "kernel" = ${'6.1'} WHERE "agentId" = ${'schema-agent'}`,
    ).toBe(1);
    expect((await db.host.findUniqueOrThrow({ where: { agentId: 'schema-agent' } })).kernel).toBe('6.1');
  });
});
