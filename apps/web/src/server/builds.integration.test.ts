import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tagVersionOf } from '@binfleet/arch-table';
import type { Db } from '@binfleet/db';
import { buildArm64Image, fixtures, machineBinfmtState } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from './testing/api-client.ts';
import { DATABASES } from './testing/fixture.ts';
import { startFleet, type Fleet } from './testing/fleet.ts';
import { until, watchUntilFinal } from './testing/waiting.ts';

// A build started from the control plane: a durable Build row, run by a real builder agent (joined
// to the control plane, on this machine with the real dockerd) from Debian's qemu-user-static .deb,
// followed live over the watch subscription, pushed to the real registry and then found in the
// catalogue, synced from the registry, with the digests the builder reported. The first build takes
// the packages of two host architectures (amd64, arm64): its multi-platform tags are indexes of both. Then a build from a
// package uploaded through the control plane, cancel and re-run; how each ended, once in the audit log;
// on SQLite and on PostgreSQL.
const REGISTRY = process.env.BINFLEET_REGISTRY ?? '127.0.0.1:5000';
const RUN = Date.now().toString(36);
const TEST_IMAGE = 'binfleet-test/arm64-busybox:latest';

type StepView = { name: string; status: string; log: string; durationMs: number | null };
type BuildView = {
  id: string;
  status: string;
  error: string | null;
  packageName: string;
  packageVersion: string;
  packageSha256: string;
  qemuVersion: string;
  hostArchs: string[];
  packages: { path: string; packageId: string | null }[];
  packageFacts: { architecture: string; sha256: string }[];
  steps: StepView[];
  checks: { name: string; status: string }[] | null;
  pushedTags: { tag: string; digest: string }[] | null;
  catalogueTags: { tag: string; digest: string }[];
};
type CatalogueTag = { tag: string; digest: string; pull: string; run: string; build: { id: string } | null };

describe.each(DATABASES)('builds from the control plane on a real builder agent, on %s', (name, database) => {
  const REPOSITORY = `binfleet-test/cp-build-${RUN}-${name.toLowerCase()}`;
  let fleet: Fleet;
  let agentStateDir: string;
  let db: Db;
  let admin: ApiClient;
  let hostId: string;
  let repositoryId: string;
  let built: BuildView;
  const digests = new Set<string>();

  beforeAll(async () => {
    buildArm64Image(TEST_IMAGE);
    fleet = await startFleet({
      name: 'cp-build',
      database,
      agents: 1,
      heartbeatIntervalMs: 1000,
      agent: {
        // The builder runs on this machine: its dockerd builds, tests and pushes.
        sandbox: false,
        args: [
          '--heartbeat-interval',
          '1s',
          '--reconcile-interval',
          '1h',
          '--busybox',
          fixtures().busybox('amd64'),
          '--verify-image',
          'binfleet-test/{debian}-busybox:latest',
        ],
      },
    });
    ({ db, api: admin } = fleet);
    agentStateDir = fleet.hosts[0]!.stateDir;
    const builders = await until('the builder online', async () => {
      const list = await admin.ok(admin.query<{ id: string; online: boolean }[]>('builds.builders'));
      return list.length === 1 && list[0]!.online && list;
    });
    hostId = builders[0]!.id;
    const registry = await admin.ok(
      admin.mutation<{ id: string }>('registries.create', { url: `http://${REGISTRY}` }),
    );
    repositoryId = (
      await admin.ok(
        admin.mutation<{ id: string }>('registries.addRepository', {
          registryId: registry.id,
          name: REPOSITORY,
        }),
      )
    ).id;
  }, 120_000);

  afterAll(async () => {
    for (const digest of digests) {
      await fetch(`http://${REGISTRY}/v2/${REPOSITORY}/manifests/${digest}`, { method: 'DELETE' }).catch(
        () => undefined,
      );
    }
    await fleet?.stop();
    execFileSync('docker', ['rmi', '-f', TEST_IMAGE], { stdio: 'ignore' });
  });

  it('runs a build of two host architectures to success with a live log, then finds its tags in the catalogue', async () => {
    const before = machineBinfmtState();
    const { id } = await admin.ok(
      admin.mutation<{ id: string }>('builds.start', {
        hostId,
        repositoryId,
        packages: [{ path: fixtures().qemuDebOf('amd64') }, { path: fixtures().qemuDebOf('arm64') }],
        // The builder's own busybox serves amd64.
        busyboxes: [fixtures().busybox('arm64')],
        // Bare tags: amd64 hosts emulate aarch64 and arm, arm64 hosts x86_64.
        targets: ['aarch64', 'arm', 'x86_64'],
        testImage: TEST_IMAGE,
      }),
    );
    const seen = await watchUntilFinal<BuildView>(admin, 'builds.watch', { id }, 600_000);
    built = await admin.ok(admin.query<BuildView>('builds.get', { id }));
    for (const t of built.pushedTags ?? []) digests.add(t.digest);
    expect(built.error).toBeNull();
    expect(built.status).toBe('succeeded');
    // Live: the subscription saw the build running with a log that grew, before it ended.
    expect(seen.some((b) => b.status === 'running' && b.steps.some((s) => s.status === 'running'))).toBe(
      true,
    );
    expect(new Set(seen.map((b) => b.steps.reduce((n, s) => n + s.log.length, 0))).size).toBeGreaterThan(2);
    expect(built.steps.map((s) => [s.name, s.status])).toEqual(
      [
        'read package',
        'extract',
        'build register images',
        'build emulator images',
        'test',
        'push',
        'clean up',
      ].map((n) => [n, 'succeeded']),
    );
    expect(built.steps.find((s) => s.name === 'test')!.log).toMatch(
      /PASS :register --reset registers qemu-aarch64 without flags/,
    );
    expect(built).toMatchObject({
      packageName: 'qemu-user-static',
      qemuVersion: expect.stringMatching(/^\d+\.\d+/),
    });
    expect(built.packageSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(built.hostArchs).toEqual(['amd64', 'arm64']);
    expect(built.packages).toEqual([
      expect.objectContaining({ path: fixtures().qemuDebOf('amd64'), packageId: null }),
      expect.objectContaining({ path: fixtures().qemuDebOf('arm64'), packageId: null }),
    ]);
    expect(built.packageFacts.map((p) => p.sha256)).toEqual(
      ['amd64', 'arm64'].map((a) =>
        createHash('sha256')
          .update(readFileSync(fixtures().qemuDebOf(a as 'amd64' | 'arm64')))
          .digest('hex'),
      ),
    );
    expect(built.checks!.every((c) => c.status === 'pass')).toBe(true);
    expect(machineBinfmtState()).toEqual(before);
    // How it ended, in the audit log: once, with the repository and every tag it pushed.
    const ended = await db.auditEvent.findMany({ where: { action: 'build.succeeded' } });
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ actorName: 'system', outcome: 'success' });
    expect(ended[0]!.params).toMatchObject({ buildId: id, repository: `${REGISTRY}/${REPOSITORY}` });
    expect([...(ended[0]!.params as { tags: string[] }).tags].sort()).toEqual(
      built.pushedTags!.map((t) => t.tag).sort(),
    );

    const version = tagVersionOf(built.packageVersion);
    const pushed = new Map(built.pushedTags!.map((t) => [t.tag, t.digest]));
    expect([...pushed.keys()].sort()).toEqual(
      [
        version,
        'latest',
        'register',
        // A pair per host and emulator; the bare tags only where a host does not run the target natively.
        ...['x86_64', 'aarch64'].flatMap((from) =>
          ['aarch64', 'arm', 'x86_64'].flatMap((to) => [`${from}-${to}`, `${from}-${to}-${version}`]),
        ),
        ...['aarch64', 'arm', 'x86_64'].flatMap((to) => [to, `${to}-${version}`]),
      ].sort(),
    );
    // In the registry: the multi-platform tags are OCI indexes with an entry per host platform.
    const manifest = async (reference: string) =>
      (await (
        await fetch(`http://${REGISTRY}/v2/${REPOSITORY}/manifests/${reference}`, {
          headers: {
            accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json',
          },
        })
      ).json()) as { mediaType: string; manifests?: { platform: { architecture: string } }[] };
    for (const tag of ['latest', 'register', version]) {
      const index = await manifest(tag);
      expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
      expect(index.manifests!.map((m) => m.platform.architecture).sort()).toEqual(['amd64', 'arm64']);
    }
    const x86 = await manifest('x86_64');
    expect(x86.manifests!.map((m) => m.platform.architecture)).toEqual(['arm64']);
    expect((await manifest(`aarch64-x86_64-${version}`)).mediaType).toBe(
      'application/vnd.oci.image.manifest.v1+json',
    );
    // The catalogue was synced from the registry after the build: same digests, linked to the build.
    const catalogue = await admin.ok(
      admin.query<{ versions: { version: string; tags: CatalogueTag[] }[] }>('catalogue.browse', {
        repositoryId,
        arch: 'arm64',
      }),
    );
    const tag = catalogue.versions[0]!.tags.find((t) => t.tag === `x86_64-aarch64-${version}`)!;
    expect(tag).toMatchObject({
      digest: pushed.get(`x86_64-aarch64-${version}`),
      pull: `docker pull ${REGISTRY}/${REPOSITORY}:x86_64-aarch64-${version}`,
      run: `docker run --rm --privileged ${REGISTRY}/${REPOSITORY}:${version} --reset -p yes`,
      build: { id },
    });
    expect(built.catalogueTags.map((t) => t.tag).sort()).toEqual([...pushed.keys()].sort());
  }, 600_000);

  it('builds from a package uploaded to the control plane, sent to the builder first', async () => {
    const upload = await fetch(`${fleet.url}/api/packages`, {
      method: 'POST',
      headers: { ...admin.sessionHeaders, 'x-binfleet-filename': 'qemu-user-static.deb' },
      body: readFileSync(fixtures().qemuDeb),
    });
    expect(upload.status).toBe(201);
    const pkg = (await upload.json()) as { id: string; sha256: string };
    expect(pkg.sha256).toBe(createHash('sha256').update(readFileSync(fixtures().qemuDeb)).digest('hex'));

    const { id } = await admin.ok(
      admin.mutation<{ id: string }>('builds.start', {
        hostId,
        repositoryId,
        packageId: pkg.id,
        targets: ['aarch64'],
        // The seed's checks ran in the first build (loading every image into dockerd: half a build's
        // time); this one is about the package's way to the builder.
        skipChecks: true,
      }),
    );
    await watchUntilFinal<BuildView>(admin, 'builds.watch', { id }, 600_000);
    const build = await admin.ok(admin.query<BuildView & { packageId: string }>('builds.get', { id }));
    for (const t of build.pushedTags ?? []) digests.add(t.digest);
    expect(build.error).toBeNull();
    expect(build.status).toBe('succeeded');
    expect(build.steps.map((s) => s.name)).toEqual([
      'send package',
      'read package',
      'extract',
      'build register images',
      'build emulator images',
      'test',
      'push',
      'clean up',
    ]);
    expect(build.steps[0]).toMatchObject({
      status: 'succeeded',
      log: expect.stringMatching(/100% .*\nsent in /),
    });
    expect(build.steps.find((s) => s.name === 'test')).toMatchObject({
      status: 'succeeded',
      log: expect.stringMatching(/skipped: the request asked to push without the checks/),
    });
    expect(build).toMatchObject({
      packageId: pkg.id,
      packageSha256: pkg.sha256,
      packageName: 'qemu-user-static',
    });
    const version = tagVersionOf(build.packageVersion);
    expect(build.pushedTags!.map((t) => t.tag).sort()).toEqual(
      [
        version,
        'latest',
        'register',
        'x86_64-aarch64',
        `x86_64-aarch64-${version}`,
        'aarch64',
        `aarch64-${version}`,
      ].sort(),
    );
    // The builder keeps it by hash, in its state dir.
    expect(readdirSync(join(agentStateDir, 'packages'))).toEqual([`${pkg.sha256}.deb`]);

    // latest and register now name this amd64-only build: back to the two-architecture one, in one
    // action that copies its indexes by digest in the registry.
    const headDigest = async (tag: string) =>
      (
        await fetch(`http://${REGISTRY}/v2/${REPOSITORY}/manifests/${tag}`, {
          method: 'HEAD',
          headers: { accept: 'application/vnd.oci.image.index.v1+json' },
        })
      ).headers.get('docker-content-digest');
    const first = new Map(built.pushedTags!.map((t) => [t.tag, t.digest]));
    const latest = new Map(build.pushedTags!.map((t) => [t.tag, t.digest])).get('latest')!;
    expect(await headDigest('latest')).toBe(latest);
    expect(latest).not.toBe(first.get('latest'));
    const repointed = await admin.ok(
      admin.mutation<{ tags: { tag: string; digest: string; previous: string | null }[] }>(
        'catalogue.repoint',
        { buildId: built.id },
      ),
    );
    expect(repointed.tags).toEqual([
      { tag: 'latest', digest: first.get('latest'), previous: latest },
      { tag: 'register', digest: first.get('register'), previous: expect.stringMatching(/^sha256:/) },
    ]);
    expect(await headDigest('latest')).toBe(first.get('latest'));
    expect(await headDigest('register')).toBe(first.get('register'));
    // The catalogue was synced: its latest is the two-platform index again.
    const tags = await db.imageTag.findMany({
      where: { repositoryId, tag: { in: ['latest', 'register'] } },
      select: { tag: true, digest: true, platform: true },
      orderBy: { tag: 'asc' },
    });
    expect(tags.map((t) => [t.tag, t.digest])).toEqual([
      ['latest', first.get('latest')],
      ['register', first.get('register')],
    ]);
    expect(
      tags[0]!
        .platform!.split(',')
        .map((p) => p.split('/')[1])
        .sort(),
    ).toEqual(['amd64', 'arm64']);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { action: 'catalogue.repoint' } });
    expect(audit).toMatchObject({ outcome: 'success' });

    // A re-run names the same package: the builder has it already, nothing is sent again.
    const rerun = await admin.ok(admin.mutation<{ id: string }>('builds.rerun', { id }));
    await until('the package step of the re-run', async () => {
      const b = await admin.ok(admin.query<BuildView>('builds.get', { id: rerun.id }));
      return b.steps[0]?.status === 'succeeded' && b.steps.length > 1 && b;
    });
    await admin.ok(admin.mutation('builds.cancel', { id: rerun.id }));
    const cancelled = (await watchUntilFinal<BuildView>(admin, 'builds.watch', { id: rerun.id }, 600_000)).at(
      -1,
    )!;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.steps[0]!.log).toMatch(/has this package already: nothing to send/);
    // A build that pushed nothing cannot become latest.
    const refused = await admin.mutation('catalogue.repoint', { buildId: rerun.id });
    expect(refused.error?.code).toBe('CONFLICT');
  }, 600_000);

  it('cancels a running build, which cleans up on the builder, and re-runs it as a new build', async () => {
    const { id } = await admin.ok(
      admin.mutation<{ id: string }>('builds.start', {
        hostId,
        repositoryId,
        packagePath: fixtures().qemuDeb,
        targets: ['s390x'],
        testImage: TEST_IMAGE,
      }),
    );
    await until('the build to run on the builder', async () => {
      const b = await admin.ok(admin.query<BuildView>('builds.get', { id }));
      return b.steps.some((s) => s.status === 'running') && b;
    });
    await admin.ok(admin.mutation('builds.cancel', { id }));
    const cancelled = (await watchUntilFinal<BuildView>(admin, 'builds.watch', { id }, 600_000)).at(-1)!;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.steps.find((s) => s.name === 'clean up')!.status).toBe('succeeded');
    expect(cancelled.steps.find((s) => s.name === 'push')!.status).toBe('cancelled');
    const again = await admin.mutation('builds.cancel', { id });
    expect(again.error?.code).toBe('CONFLICT');

    // As a build from before builds took several packages: no package rows, its package on the row.
    await db.buildPackage.deleteMany({ where: { buildId: id } });
    const old = await admin.ok(admin.query<BuildView>('builds.get', { id }));
    expect(old.packages).toEqual([expect.objectContaining({ path: fixtures().qemuDeb, packageId: null })]);
    const rerun = await admin.ok(admin.mutation<{ id: string }>('builds.rerun', { id }));
    expect(rerun.id).not.toBe(id);
    const row = await db.build.findUniqueOrThrow({ where: { id: rerun.id }, include: { inputs: true } });
    expect(row.inputs).toEqual([expect.objectContaining({ position: 0, path: fixtures().qemuDeb })]);
    expect(row).toMatchObject({
      packagePath: fixtures().qemuDeb,
      repositoryId,
      builderHostId: hostId,
      options: { targets: ['s390x'], testImage: TEST_IMAGE },
    });
    await admin.ok(admin.mutation('builds.cancel', { id: rerun.id }));
    expect(
      (await watchUntilFinal<BuildView>(admin, 'builds.watch', { id: rerun.id }, 600_000)).at(-1)!.status,
    ).toBe('cancelled');

    const audit = await db.auditEvent.findMany({
      where: { action: { in: ['build.start', 'build.cancel'] } },
      orderBy: { at: 'asc' },
    });
    // Every build that ended did so once in the audit log, as its row says it ended.
    const builds = await db.build.findMany({ select: { id: true, status: true } });
    const ends = await db.auditEvent.findMany({
      where: { action: { in: ['build.succeeded', 'build.failed', 'build.cancelled'] } },
    });
    expect(ends.map((e) => `${(e.params as { buildId: string }).buildId} ${e.action}`).sort()).toEqual(
      builds.map((b) => `${b.id} build.${b.status}`).sort(),
    );
    expect(audit.map((a) => a.action)).toEqual([
      'build.start',
      'build.start',
      'build.start',
      'build.cancel',
      'build.start',
      'build.cancel',
      'build.start',
      'build.cancel',
    ]);
  }, 300_000);
  it('a dial-out builder fetches an uploaded package on a connection of its own, builds, and is served only what its builds name', async () => {
    // This machine's builder joins again, dialing out (one hostname per fleet: the direct host goes first).
    await admin.ok(admin.mutation('fleet.removeHost', { id: hostId }));
    await fleet.hosts[0]!.agent.stop();
    const edge = await fleet.addAgent({ sandbox: false, args: ['--dial-out'] });
    expect(edge.agent.url).toBe('');
    await until('the dial-out builder online', async () => {
      const list = await admin.ok(admin.query<{ id: string; online: boolean }[]>('builds.builders'));
      return list.some((b) => b.id === edge.hostId && b.online);
    });
    const credential = (
      JSON.parse(readFileSync(join(edge.stateDir, 'fleet-link.json'), 'utf8')) as {
        link: { heartbeatToken: string };
      }
    ).link.heartbeatToken;
    const deb = readFileSync(fixtures().qemuDeb);
    const sha256 = createHash('sha256').update(deb).digest('hex');
    const upload = await fetch(`${fleet.url}/api/packages`, {
      method: 'POST',
      headers: { ...admin.sessionHeaders, 'x-binfleet-filename': 'qemu-user-static.deb' },
      body: deb,
    });
    const pkg = (await upload.json()) as { id: string };
    const get = (path: string, bearer?: string) =>
      fetch(`${fleet.url}/api/agent/packages/${path}`, {
        headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
      });
    // Before a build names it, the builder's own credential opens nothing; no credential, a bad name: refused.
    expect((await get(sha256, credential)).status).toBe(404);
    expect((await get(sha256)).status).toBe(401);
    expect((await get('not-a-sha256', credential)).status).toBe(400);

    const start = () =>
      admin.ok(
        admin.mutation<{ id: string }>('builds.start', {
          hostId: edge.hostId,
          repositoryId,
          packageId: pkg.id,
          targets: ['aarch64'],
          // As in the upload's build: what is tested here is how the package gets to the builder.
          skipChecks: true,
        }),
      );
    const sentThenCancel = async (id: string) => {
      const running = await until('the package step, then the builder at work', async () => {
        const b = await admin.ok(admin.query<BuildView>('builds.get', { id }));
        return b.steps[0]?.status === 'succeeded' && b.steps.some((s) => s.status === 'running') && b;
      });
      await admin.ok(admin.mutation('builds.cancel', { id }));
      const ended = (await watchUntilFinal<BuildView>(admin, 'builds.watch', { id }, 600_000)).at(-1)!;
      expect(ended.status).toBe('cancelled');
      return running.steps[0]!.log;
    };
    // The first build runs to the end on the builder that listens on nothing.
    const first = await start();
    const done = (await watchUntilFinal<BuildView>(admin, 'builds.watch', { id: first.id }, 600_000)).at(-1)!;
    const firstBuild = await admin.ok(admin.query<BuildView>('builds.get', { id: first.id }));
    for (const t of firstBuild.pushedTags ?? []) digests.add(t.digest);
    expect(firstBuild.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(firstBuild.steps[0]!.log).toMatch(/sent in [\d.]+ s; the builder checked its sha256/);
    expect(firstBuild.pushedTags!.map((t) => t.tag)).toEqual(expect.arrayContaining(['latest', 'aarch64']));
    const listening = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
    expect(listening).not.toContain(`pid=${edge.agent.pid},`);
    // In the builder's store, fetched over the agent's own connection.
    const kept = readFileSync(join(edge.stateDir, 'packages', `${sha256}.deb`));
    expect(createHash('sha256').update(kept).digest('hex')).toBe(sha256);
    const calls = await db.agentCall.findMany({ where: { hostId: edge.hostId, procedure: 'fetchPackage' } });
    expect(calls.map((c) => c.status)).toEqual(['done']);
    // Kept: the next build's package is not fetched again.
    const second = await start();
    expect(await sentThenCancel(second.id)).toMatch(/has this package already: nothing to send/);
    // No build of its waits now: the package is closed to it again.
    expect((await get(sha256, credential)).status).toBe(404);
  }, 300_000);
});
