import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROVENANCE_LABELS } from '@binfleet/arch-table';
import type { Db } from '@binfleet/db';
import { freePort } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogueSyncTimer } from './services/catalogue/sync.ts';
import type { ControlPlane } from './services/control-plane.ts';
import { DATABASES } from './testing/fixture.ts';
import {
  startInProcessControlPlane,
  type Caller,
  type InProcessControlPlane,
} from './testing/in-process-control-plane.ts';
import { until } from './testing/waiting.ts';

// The catalogue against the real registry (Debian's docker-registry, distribution 2.8): images with
// the scheme's tags (and one outside it) pushed by dockerd, synced through the registry's own API,
// browsed and compared through the tRPC procedures, on SQLite and on PostgreSQL.
const REGISTRY = process.env.BINFLEET_REGISTRY ?? '127.0.0.1:5000';
const REPOSITORY = `binfleet-test/catalogue-${Date.now().toString(36)}`;
const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
const VIEWER = { username: 'viewer', password: 'viewer-password-1' };

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const pushed = new Map<string, string>();

/** A tiny FROM scratch image under every given tag, pushed; records the digest dockerd reports. */
function pushImage(tags: string[], content: string, labels: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'catalogue-image-'));
  try {
    writeFileSync(join(dir, 'payload'), content);
    const labelLines = Object.entries(labels)
      .map(([k, v]) => `LABEL ${k}="${v}"\n`)
      .join('');
    writeFileSync(join(dir, 'Dockerfile'), `FROM scratch\nCOPY payload /payload\n${labelLines}`);
    const refs = tags.map((t) => `${REGISTRY}/${REPOSITORY}:${t}`);
    execFileSync('docker', ['build', '--quiet', ...refs.flatMap((r) => ['-t', r]), dir], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      stdio: 'pipe',
    });
    for (const ref of refs) {
      const out = docker('push', ref);
      pushed.set(ref.split(':').pop()!, /digest: (sha256:[0-9a-f]{64})/.exec(out)![1]!);
    }
    docker('rmi', ...refs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const registryDigest = async (tag: string, registry = REGISTRY) =>
  (
    await fetch(`http://${registry}/v2/${REPOSITORY}/manifests/${tag}`, {
      method: 'HEAD',
      headers: { accept: MANIFEST_V2 },
    })
  ).headers.get('docker-content-digest');

const BUILD_ID = `build-${Date.now().toString(36)}`;
let authRegistry: { url: string; process: ChildProcess; dir: string };

beforeAll(async () => {
  // Version 7.2.0-1 first, then 8.0.0-1, so that the newer one has the newer images.
  for (const version of ['7.2.0-1', '8.0.0-1']) {
    const labels: Record<string, string> =
      version === '8.0.0-1'
        ? { [PROVENANCE_LABELS.buildId]: BUILD_ID, [PROVENANCE_LABELS.version]: version }
        : {};
    pushImage([version, ...(version === '8.0.0-1' ? ['latest'] : [])], `full ${version}`, labels);
    if (version === '8.0.0-1') pushImage(['register'], `register ${version}`, labels);
    for (const to of ['aarch64', 'arm']) {
      const tags = [`x86_64-${to}-${version}`, `${to}-${version}`];
      if (version === '8.0.0-1') tags.push(`x86_64-${to}`, to);
      pushImage(tags, `qemu-${to} ${version}`, labels);
    }
  }
  pushImage(['nightly-build'], 'someone else');

  // The same storage behind a second registry that wants basic auth (htpasswd, bcrypt).
  const dir = mkdtempSync(join(tmpdir(), 'registry-auth-'));
  const hash = execFileSync(
    'python3',
    [
      '-c',
      'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))',
      'reader-pass',
    ],
    { encoding: 'utf8' },
  ).trim();
  writeFileSync(join(dir, 'htpasswd'), `reader:${hash}\n`);
  const port = await freePort();
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/binfleet-registry\n` +
      `http:\n  addr: 127.0.0.1:${port}\nauth:\n  htpasswd:\n    realm: binfleet-test\n    path: ${join(dir, 'htpasswd')}\n`,
  );
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  authRegistry = { url: `http://127.0.0.1:${port}`, process: child, dir };
  for (let i = 0; i < 50; i++) {
    const up = await fetch(`${authRegistry.url}/v2/`).then(
      (r) => r.status === 401,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 180_000);

afterAll(async () => {
  for (const digest of new Set(pushed.values())) {
    await fetch(`http://${REGISTRY}/v2/${REPOSITORY}/manifests/${digest}`, { method: 'DELETE' }).catch(
      () => undefined,
    );
  }
  authRegistry?.process.kill();
  if (authRegistry) rmSync(authRegistry.dir, { recursive: true, force: true });
});

describe.each(DATABASES)('catalogue from the real registry on %s', (_name, database) => {
  let fixture: InProcessControlPlane;
  let db: Db;
  let cp: ControlPlane;
  let admin: Caller;
  let viewer: Caller;
  let repositoryId: string;

  beforeAll(async () => {
    fixture = await startInProcessControlPlane({
      name: 'catalogue',
      database,
      users: [{ ...VIEWER, role: 'viewer' }],
    });
    ({ db, cp, admin } = fixture);
    viewer = await fixture.callerFor(VIEWER);
    // The build of ours that the labelled images name.
    await db.build.create({
      data: {
        id: BUILD_ID,
        packageName: 'qemu-user-static',
        packageVersion: '1:8.0+dfsg-1',
        packageArch: 'amd64',
        packageSha256: 'ab'.repeat(32),
        qemuVersion: '8.0.0',
        status: 'succeeded',
      },
    });
  }, 60_000);

  afterAll(() => fixture?.stop());

  it('lets only admins configure registries and repositories', async () => {
    await expect(viewer.registries.create({ url: `http://${REGISTRY}` })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(admin.registries.create({ url: 'ftp://example.com' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    const { id } = await admin.registries.create({ url: `http://${REGISTRY}` });
    await expect(admin.registries.create({ url: `http://${REGISTRY}/` })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await expect(admin.registries.addRepository({ registryId: id, name: 'Not/Valid' })).rejects.toMatchObject(
      {
        code: 'BAD_REQUEST',
      },
    );
    repositoryId = (await admin.registries.addRepository({ registryId: id, name: REPOSITORY })).id;
    const list = await viewer.registries.list();
    expect(list[0]).toMatchObject({
      host: REGISTRY,
      hasPassword: false,
      // The default interval of the periodic sync, shown beside the last sync.
      repositories: [{ name: REPOSITORY, tagCount: 0, autoSyncIntervalMs: 15 * 60_000 }],
    });
  });

  it('syncs every tag from the registry API, with the digests dockerd pushed', async () => {
    await expect(viewer.catalogue.sync({ repositoryId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const result = await admin.catalogue.sync({ repositoryId });
    expect(result).toMatchObject({ tags: pushed.size, added: pushed.size, updated: 0, removed: 0 });
    const rows = await db.imageTag.findMany({ where: { repositoryId } });
    expect(rows).toHaveLength(pushed.size);
    for (const row of rows) {
      expect(row.digest, row.tag).toBe(pushed.get(row.tag));
      expect(row.digest, row.tag).toBe(await registryDigest(row.tag));
      expect(row.platform, row.tag).toBe('linux/amd64');
      expect(row.imageCreatedAt, row.tag).toBeInstanceOf(Date);
      expect(Number(row.size), row.tag).toBeGreaterThan(0);
    }
    const byTag = new Map(rows.map((r) => [r.tag, r]));
    expect(byTag.get('x86_64-aarch64')).toMatchObject({
      qemuVersion: '8.0.0-1',
      fromArch: 'x86_64',
      toArch: 'aarch64',
      buildId: BUILD_ID,
    });
    expect(byTag.get('aarch64-7.2.0-1')).toMatchObject({
      qemuVersion: '7.2.0-1',
      fromArch: 'x86_64',
      toArch: 'aarch64',
      buildId: null,
    });
    expect(byTag.get('latest')).toMatchObject({ qemuVersion: '8.0.0-1', fromArch: 'x86_64', toArch: null });
    expect(byTag.get('nightly-build')).toMatchObject({ qemuVersion: null, fromArch: null, toArch: null });

    // Again: nothing changed, nothing is fetched again.
    expect(await admin.catalogue.sync({ repositoryId })).toMatchObject({ added: 0, updated: 0, removed: 0 });
  });

  it('browses versions newest first with pull and register lines, filtered by version, arch and alias', async () => {
    const all = await viewer.catalogue.browse({ repositoryId });
    expect(all.versions.map((v) => v.version)).toEqual(['8.0.0-1', '7.2.0-1']);
    expect(all.other.map((t) => t.tag)).toEqual(['nightly-build']);
    // A tag outside the scheme gets no pull line: what it holds is unknown.
    expect(all.other[0]).toMatchObject({ pull: null, pinned: null });
    const newest = all.versions[0]!;
    const pair = newest.tags.find((t) => t.tag === 'x86_64-aarch64-8.0.0-1')!;
    expect(pair).toMatchObject({
      kind: 'pair-version',
      from: 'x86_64',
      to: 'aarch64',
      digest: pushed.get('x86_64-aarch64-8.0.0-1'),
      pull: `docker pull ${REGISTRY}/${REPOSITORY}:x86_64-aarch64-8.0.0-1`,
      pinned: `docker pull ${REGISTRY}/${REPOSITORY}@${pushed.get('x86_64-aarch64-8.0.0-1')}`,
      run: `docker run --rm --privileged ${REGISTRY}/${REPOSITORY}:8.0.0-1 --reset -p yes`,
      build: { id: BUILD_ID, packageSha256: 'ab'.repeat(32), qemuVersion: '8.0.0' },
    });
    expect(newest.tags.find((t) => t.tag === 'register')!.run).toBe(
      `docker run --rm --privileged ${REGISTRY}/${REPOSITORY}:register --reset`,
    );

    const arm64 = await viewer.catalogue.browse({ repositoryId, arch: 'arm64' });
    const tags = arm64.versions.flatMap((v) => v.tags.map((t) => t.tag)).sort();
    expect(tags).toEqual([
      'aarch64',
      'aarch64-7.2.0-1',
      'aarch64-8.0.0-1',
      'x86_64-aarch64',
      'x86_64-aarch64-7.2.0-1',
      'x86_64-aarch64-8.0.0-1',
    ]);
    expect((await viewer.catalogue.browse({ repositoryId, to: 'arm64v8', version: '7.2.0-1' })).total).toBe(
      2,
    );
    expect(
      (await viewer.catalogue.browse({ repositoryId, to: 'armhf' })).versions
        .flatMap((v) => v.tags)
        .every((t) => t.to === 'arm'),
    ).toBe(true);
    expect((await viewer.catalogue.browse({ repositoryId, from: 'amd64', to: 'aarch64' })).total).toBe(6);
    await expect(viewer.catalogue.browse({ repositoryId, arch: 'vax' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });

    const versions = await viewer.catalogue.versions({ repositoryId });
    expect(versions.map((v) => v.version)).toEqual(['8.0.0-1', '7.2.0-1', null]);
  });

  it('compares two versions image by image', async () => {
    const rows = await viewer.catalogue.compare({ repositoryId, a: '7.2.0-1', b: '8.0.0-1' });
    expect(rows.map((r) => [r.key, r.change])).toEqual([
      ['register + emulators', 'changed'],
      ['aarch64', 'changed'],
      ['arm', 'changed'],
      ['x86_64-aarch64', 'changed'],
      ['x86_64-arm', 'changed'],
    ]);
    expect(rows[1]!.a!.digest).toBe(pushed.get('aarch64-7.2.0-1'));
    expect(rows[1]!.b!.digest).toBe(pushed.get('aarch64-8.0.0-1'));
  });

  it('follows the registry: a deleted tag goes, a new one comes', async () => {
    const digest = pushed.get('nightly-build')!;
    await fetch(`http://${REGISTRY}/v2/${REPOSITORY}/manifests/${digest}`, { method: 'DELETE' });
    expect(await admin.catalogue.sync({ repositoryId })).toMatchObject({ tags: pushed.size - 1, removed: 1 });
    pushImage(['nightly-build'], `someone else, ${Date.now()}`);
    expect(await admin.catalogue.sync({ repositoryId })).toMatchObject({ tags: pushed.size, added: 1 });
    expect(
      (await db.imageTag.findFirstOrThrow({ where: { repositoryId, tag: 'nightly-build' } })).digest,
    ).toBe(pushed.get('nightly-build'));
  });

  it('removes the row of a tag deleted from the registry on the next sync, and only that row', async () => {
    // Two tags of their own, on two images: deleting the one's manifest leaves the other tagged.
    pushImage(['gone-soon'], `gone soon, ${Date.now()}`);
    pushImage(['stays'], `stays, ${Date.now()}`);
    // In code point order (a database's collation may order hyphens otherwise).
    const rows = async () =>
      (
        await db.imageTag.findMany({ where: { repositoryId }, select: { id: true, tag: true, digest: true } })
      ).sort((a, b) => (a.tag < b.tag ? -1 : 1));
    const deleteTag = async (tag: string) => {
      const res = await fetch(`http://${REGISTRY}/v2/${REPOSITORY}/manifests/${pushed.get(tag)!}`, {
        method: 'DELETE',
      });
      expect(res.status, `DELETE of ${tag}'s manifest`).toBe(202);
      pushed.delete(tag);
    };
    expect(await admin.catalogue.sync({ repositoryId })).toMatchObject({ added: 2, removed: 0 });
    const before = await rows();
    expect(before.map((r) => r.tag)).toEqual(expect.arrayContaining(['gone-soon', 'stays']));

    await deleteTag('gone-soon');
    expect(await admin.catalogue.sync({ repositoryId })).toMatchObject({ tags: pushed.size, removed: 1 });
    // The very rows of every other tag remain, digests unchanged.
    expect(await rows()).toEqual(before.filter((r) => r.tag !== 'gone-soon'));
    const browsed = await viewer.catalogue.browse({ repositoryId });
    expect(browsed.other.map((t) => t.tag).sort()).toEqual(['nightly-build', 'stays']);

    // Gone from the registry and the catalogue alike for the tests after this one.
    await deleteTag('stays');
    expect(await admin.catalogue.sync({ repositoryId })).toMatchObject({ removed: 1 });
    expect((await rows()).map((r) => r.tag)).toEqual([...pushed.keys()].sort());
  });

  it('reads a registry that wants basic auth, and says so when the password is wrong', async () => {
    // Another registry address for the same storage, with basic auth: wrong credentials are refused clearly.
    const { id } = await admin.registries.create({
      url: authRegistry.url,
      username: 'reader',
      password: 'wrong',
    });
    const authed = await admin.registries.addRepository({ registryId: id, name: REPOSITORY });
    await expect(admin.catalogue.sync({ repositoryId: authed.id })).rejects.toMatchObject({
      code: 'BAD_GATEWAY',
      message: expect.stringMatching(/refused user reader \(HTTP 401\)/),
    });
    await admin.registries.update({ id, password: 'reader-pass' });
    expect(await admin.catalogue.sync({ repositoryId: authed.id })).toMatchObject({
      tags: pushed.size,
      added: pushed.size,
    });
    expect((await viewer.registries.list()).find((r) => r.id === id)).toMatchObject({
      username: 'reader',
      hasPassword: true,
    });
    await admin.registries.remove({ id });
  });

  it('records the outcome of every sync on the repository, shown with the registries', async () => {
    const before = new Date();
    await admin.catalogue.sync({ repositoryId });
    const ok = (await viewer.registries.list())
      .flatMap((r) => r.repositories)
      .find((r) => r.id === repositoryId)!;
    expect(ok.lastSyncError).toBeNull();
    expect(ok.lastSyncAttemptAt!.getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect(ok.lastSyncedAt).toEqual(ok.lastSyncAttemptAt);
    expect(ok.lastSyncSummary).toBe(`${pushed.size} tags: 0 added, 0 updated, 0 removed`);

    const { id } = await admin.registries.create({ url: 'http://127.0.0.1:9' });
    const down = await admin.registries.addRepository({ registryId: id, name: 'nobody/home' });
    await expect(admin.catalogue.sync({ repositoryId: down.id })).rejects.toMatchObject({
      code: 'BAD_GATEWAY',
    });
    const failed = (await viewer.registries.list()).find((r) => r.id === id)!.repositories[0]!;
    expect(failed).toMatchObject({
      lastSyncedAt: null,
      lastSyncError: expect.stringMatching(/127\.0\.0\.1:9/),
    });
    expect(failed.lastSyncAttemptAt).not.toBeNull();
    await admin.registries.remove({ id });
  });

  it('syncs every repository periodically, once per interval whatever the number of replicas', async () => {
    const { id } = await admin.registries.create({ url: 'http://127.0.0.1:9' });
    const down = await admin.registries.addRepository({ registryId: id, name: 'nobody/home' });
    // Two replicas: their own control plane and database client each, one database.
    const { cp: other, db: otherDb } = fixture.addReplica();
    try {
      const minute = 60_000;
      const replicas = [
        new CatalogueSyncTimer(db, cp.catalogue, { intervalMs: minute }, () => undefined),
        new CatalogueSyncTimer(otherDb, other.catalogue, { intervalMs: minute }, () => undefined),
      ];
      const audited = () => db.auditEvent.count({ where: { action: 'catalogue.sync' } });
      const auditBefore = await audited();
      const t0 = new Date(Date.now() + 10 * minute);
      const first = (await Promise.all(replicas.map((r) => r.tick(t0)))).flat();
      // Each repository synced once, by one replica or the other; the unreachable one's failure recorded.
      expect(first.sort()).toEqual([repositoryId, down.id].sort());
      const rows = await db.repository.findMany({ where: { id: { in: first } } });
      expect(rows.every((r) => r.syncClaimedAt?.getTime() === t0.getTime())).toBe(true);
      expect(rows.find((r) => r.id === down.id)!.lastSyncError).toMatch(/127\.0\.0\.1:9/);
      expect(rows.find((r) => r.id === repositoryId)!.lastSyncError).toBeNull();
      // Nothing changed in the registry: only the failure was audited.
      expect(await audited()).toBe(auditBefore + 1);

      // Within the interval nobody syncs again; after it, one replica does.
      const half = new Date(t0.getTime() + minute / 2);
      expect((await Promise.all(replicas.map((r) => r.tick(half)))).flat()).toEqual([]);
      const next = new Date(t0.getTime() + minute);
      expect((await Promise.all(replicas.map((r) => r.tick(next)))).flat().sort()).toEqual(
        [repositoryId, down.id].sort(),
      );

      // 0 turns it off.
      const off = new CatalogueSyncTimer(db, cp.catalogue, { intervalMs: 0 });
      expect(await off.tick(new Date(next.getTime() + 10 * minute))).toEqual([]);

      // The timer itself, as the runner starts it: a sync happens without anyone asking.
      await db.repository.updateMany({ data: { syncClaimedAt: null } });
      const attempted = (await db.repository.findUniqueOrThrow({ where: { id: repositoryId } }))
        .lastSyncAttemptAt!;
      const running = new CatalogueSyncTimer(db, cp.catalogue, { intervalMs: 1000 }, () => undefined);
      running.start();
      try {
        await until('a periodic sync', async () => {
          const row = await db.repository.findUniqueOrThrow({ where: { id: repositoryId } });
          return row.lastSyncAttemptAt! > attempted;
        });
      } finally {
        await running.stop();
      }
    } finally {
      await otherDb.$disconnect();
      await admin.registries.remove({ id });
    }
  });
});
