/**
 * The image side of the seeded fleet (seed-fleet.ts): one registry with one repository whose tags come
 * from the arch table's plan for two QEMU versions, and the builds that pushed them, so the catalogue and
 * build pages have something to show. The registry's host is `.invalid` (never resolves): a sync of it
 * fails with a message instead of reaching anything.
 */
import { planTags, type TargetId } from '@binfleet/arch-table';
import type { Db, Prisma } from '@binfleet/db';

export const SEED_REGISTRY_URL = 'https://registry.seed.invalid';
const REPOSITORY = 'binfleet/qemu-user-static';
const STEPS = ['read packages', 'assemble images', 'checks', 'push'] as const;
const HOSTS = [
  { debianArch: 'amd64', targets: ['aarch64', 'arm', 'ppc64le', 's390x', 'riscv64'] as TargetId[] },
  { debianArch: 'arm64', targets: ['x86_64', 'ppc64le', 's390x', 'riscv64'] as TargetId[] },
];
const VERSIONS = [
  { version: '7.2.19', packageVersion: '1:7.2+dfsg-7+deb12u18', daysAgo: 40 },
  { version: '9.2.0', packageVersion: '1:9.2.0+ds-5', daysAgo: 3 },
] as const;

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

/** Replaces what an earlier run made (the registry cascades to its repository and tags). */
export async function seedImages(db: Db, adminId: string, builderHostId: string | undefined): Promise<void> {
  await db.build.deleteMany({ where: { repository: { registry: { url: SEED_REGISTRY_URL } } } });
  await db.registry.deleteMany({ where: { url: SEED_REGISTRY_URL } });
  const now = Date.now();
  const registry = await db.registry.create({
    data: { url: SEED_REGISTRY_URL, lastSyncedAt: new Date(now) },
  });
  const repository = await db.repository.create({
    data: {
      registryId: registry.id,
      name: REPOSITORY,
      lastSyncedAt: new Date(now),
      lastSyncAttemptAt: new Date(now),
    },
  });
  let n = 0;
  for (const v of VERSIONS) {
    const created = new Date(now - v.daysAgo * 86_400_000);
    const finished = new Date(created.getTime() + 11 * 60_000);
    const build = await db.build.create({
      data: {
        triggeredById: adminId,
        builderHostId: builderHostId ?? null,
        packageName: 'qemu-user-static',
        packageVersion: v.packageVersion,
        packageArch: 'amd64',
        packageSha256: digest(++n).slice(7),
        qemuVersion: v.version,
        packagePath: `/var/cache/qemu/qemu-user-static_${v.version}_amd64.deb`,
        repositoryId: repository.id,
        status: 'succeeded',
        createdAt: created,
        startedAt: created,
        finishedAt: finished,
        steps: {
          create: STEPS.map((name, position) => ({
            name,
            position,
            status: 'succeeded' as const,
            startedAt: created,
            finishedAt: finished,
            durationMs: 150_000,
            log: `${name}: done\n`,
          })),
        },
      },
    });
    const tags: Prisma.ImageTagCreateManyInput[] = planTags({ version: v.version, hosts: HOSTS })
      .filter((p) => v.daysAgo < 10 || p.tag.kind.endsWith('version'))
      .map((p) => ({
        repositoryId: repository.id,
        tag: p.tag.tag,
        digest: digest(++n),
        size: BigInt(18_000_000 + n * 7_919),
        imageCreatedAt: created,
        // An index lists its images' platforms, comma-separated, as the sync records them.
        platform: [...new Set(p.images.map((i) => `linux/${i.host}`))].join(','),
        qemuVersion: v.version,
        fromArch: 'from' in p.tag ? p.tag.from : null,
        toArch: 'to' in p.tag ? p.tag.to : null,
        buildId: build.id,
      }));
    await db.imageTag.createMany({ data: tags });
  }
}
