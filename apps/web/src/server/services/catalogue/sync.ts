import { DEFAULT_HOST_ARCH, PROVENANCE_LABELS, resolveArch, type TargetId } from '@binfleet/arch-table';
import { PeriodicTick } from '../periodic.ts';
import { mapWithConcurrency } from '@binfleet/concurrency';
import { inBatches, type Db } from '@binfleet/db';
import { SYSTEM, type Actor, type AuditService } from '../audit.ts';
import type { RegistryService, RepositoryRef } from './registries.ts';
import type { OutboundPolicy } from '../../security/outbound.ts';
import { RegistryClient, type RegistryImage } from './registry-client.ts';
import { safeParse } from './tag-scheme.ts';

export interface SyncResult {
  readonly repository: string;
  readonly tags: number;
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
}

/** Manifest requests in flight at once during a sync. */
const SYNC_CONCURRENCY = 8;

/**
 * The catalogue's tag rows, synced from each registry's own API so that tags pushed by anyone
 * appear, each read with the arch table's tag scheme.
 */
export class CatalogueSync {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly registries: RegistryService,
    private readonly outbound: OutboundPolicy,
  ) {}

  /**
   * Reads every tag of the repository from its registry: the digest of each (a HEAD request), and
   * for tags that are new or moved, the manifest and image config (size from the layers, created,
   * platform, provenance labels). Rows of tags the registry no longer has are removed. Idempotent,
   * so replicas syncing the same repository at once do no harm.
   */
  async sync(
    actor: Actor,
    repositoryId: string,
    options: { readonly auditUnchanged?: boolean } = {},
  ): Promise<SyncResult> {
    const repo = await this.registries.repository(repositoryId);
    let result: SyncResult;
    try {
      result = await this.pull(repo);
    } catch (error) {
      const message = (error as Error).message;
      await this.db.repository.updateMany({
        where: { id: repositoryId },
        data: { lastSyncAttemptAt: new Date(), lastSyncError: message.slice(0, 2000) },
      });
      await this.audit.record({
        actor,
        action: 'catalogue.sync',
        targets: [repo.reference],
        outcome: 'failure',
        detail: message,
      });
      throw error;
    }
    const now = new Date();
    await this.db.repository.update({
      where: { id: repositoryId },
      data: {
        lastSyncedAt: now,
        lastSyncAttemptAt: now,
        lastSyncError: null,
        lastSyncSummary: `${result.tags} tags: ${result.added} added, ${result.updated} updated, ${result.removed} removed`,
      },
    });
    await this.db.registry.update({ where: { id: repo.registry.id }, data: { lastSyncedAt: now } });
    // Periodic syncs that found nothing new would only fill the audit log.
    if (options.auditUnchanged !== false || result.added + result.updated + result.removed > 0) {
      await this.audit.record({
        actor,
        action: 'catalogue.sync',
        targets: [repo.reference],
        params: { ...result },
        outcome: 'success',
      });
    }
    return result;
  }

  /** Reads the registry into the repository's tag rows. */
  private async pull(repo: RepositoryRef): Promise<SyncResult> {
    const repositoryId = repo.id;
    const client = new RegistryClient(
      repo.registry.url,
      this.outbound,
      await this.registries.credentials(repo.registry.id),
    );
    const { tags: names } = await client.tags(repo.name);
    const existing = new Map(
      (
        await this.db.imageTag.findMany({
          where: { repositoryId },
          select: {
            id: true,
            tag: true,
            digest: true,
            size: true,
            platform: true,
            buildId: true,
            qemuVersion: true,
          },
        })
      ).map((r) => [r.tag, r]),
    );
    const read = await mapWithConcurrency(names, SYNC_CONCURRENCY, async (tag) => {
      const digest = await client.digest(repo.name, tag);
      const known = existing.get(tag);
      if (known && known.digest === digest && known.platform !== null)
        return { tag, digest, image: undefined };
      return { tag, digest, image: await client.image(repo.name, tag) };
    });

    // Unversioned names (latest, register, x86_64-aarch64) get the version of a versioned tag of the same image.
    const versionOfDigest = new Map<string, string>();
    for (const { tag, digest } of read) {
      const version = schemeVersion(tag);
      if (version && !versionOfDigest.has(digest)) versionOfDigest.set(digest, version);
    }
    const labelled = read.flatMap((r) => r.image?.labels[PROVENANCE_LABELS.buildId] ?? []);
    const builds = new Set(
      labelled.length
        ? (await this.db.build.findMany({ where: { id: { in: labelled } }, select: { id: true } })).map(
            (b) => b.id,
          )
        : [],
    );

    let added = 0;
    let updated = 0;
    for (const { tag, digest, image } of read) {
      const known = existing.get(tag);
      // The register image has no versioned tag of its own: our builds label it with the version.
      const version =
        schemeVersion(tag) ??
        versionOfDigest.get(digest) ??
        (image ? image.labels[PROVENANCE_LABELS.version] : known?.qemuVersion) ??
        null;
      if (!image) {
        if (known!.qemuVersion !== version) {
          await this.db.imageTag.update({
            where: { id: known!.id },
            data: { qemuVersion: version, syncedAt: new Date() },
          });
          updated++;
        }
        continue;
      }
      const data = { digest, ...imageColumns(tag, image, version, builds), syncedAt: new Date() };
      await this.db.imageTag.upsert({
        where: { repositoryId_tag: { repositoryId, tag } },
        create: { repositoryId, tag, ...data },
        update: data,
      });
      if (known) updated++;
      else added++;
    }
    const gone = [...existing.keys()].filter((tag) => !names.includes(tag));
    await inBatches(gone, async (batch) => {
      await this.db.imageTag.deleteMany({ where: { repositoryId, tag: { in: batch } } });
    });
    return { repository: repo.reference, tags: names.length, added, updated, removed: gone.length };
  }
}

function schemeVersion(tag: string): string | undefined {
  const parsed = safeParse(tag);
  return parsed && 'version' in parsed ? parsed.version : undefined;
}

function imageColumns(
  tag: string,
  image: RegistryImage,
  version: string | null,
  builds: ReadonlySet<string>,
) {
  const parsed = safeParse(tag);
  const platformArch =
    image.platform && !image.platform.includes(',') ? firstTarget(image.platform) : undefined;
  let from: string | null = null;
  let to: string | null = null;
  if (parsed?.kind === 'pair' || parsed?.kind === 'pair-version') {
    from = parsed.from;
    to = parsed.to;
  } else if (parsed?.kind === 'target' || parsed?.kind === 'target-version') {
    // An index of several hosts has no one `$from`; a single image without a platform is the seed's x86_64.
    from = platformArch ?? (image.platform?.includes(',') ? null : DEFAULT_HOST_ARCH);
    to = parsed.to;
  } else if (parsed) {
    from = platformArch ?? null;
  }
  const buildId = image.labels[PROVENANCE_LABELS.buildId];
  return {
    size: image.size === null ? null : BigInt(image.size),
    imageCreatedAt: image.created,
    platform: image.platform,
    qemuVersion: version,
    fromArch: from,
    toArch: to,
    buildId: buildId && builds.has(buildId) ? buildId : null,
  };
}

function firstTarget(platform: string): TargetId | undefined {
  try {
    return resolveArch(platform)[0];
  } catch {
    return undefined;
  }
}

export interface CatalogueSyncConfig {
  /** 0 turns periodic syncs off. */
  readonly intervalMs: number;
}

/**
 * Syncs every configured repository once per interval, on whichever web replica gets there first:
 * a repository is claimed with a conditional update of `syncClaimedAt` (only if its last claim is
 * an interval old), so of several replicas exactly one syncs it per interval, as jobs are claimed.
 */
export class CatalogueSyncTimer {
  private readonly loop: PeriodicTick;

  constructor(
    private readonly db: Db,
    private readonly catalogue: Pick<CatalogueSync, 'sync'>,
    private readonly config: CatalogueSyncConfig,
    private readonly log: (line: Record<string, unknown>) => void = (l) => console.log(JSON.stringify(l)),
  ) {
    this.loop = new PeriodicTick('catalogue sync', () => this.tick(), log);
  }

  start(): void {
    if (this.config.intervalMs <= 0) return;
    // Checked a few times per interval, so a replica that stops leaves the next sync late by a fraction.
    this.loop.start(Math.max(250, Math.min(this.config.intervalMs / 4, 30_000)));
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Syncs the repositories due at `now` that this replica claims; returns their ids. */
  async tick(now = new Date()): Promise<string[]> {
    if (this.config.intervalMs <= 0) return [];
    const due = new Date(now.getTime() - this.config.intervalMs);
    const candidates = await this.db.repository.findMany({
      where: { OR: [{ syncClaimedAt: null }, { syncClaimedAt: { lte: due } }] },
      orderBy: { name: 'asc' },
      select: { id: true, syncClaimedAt: true },
    });
    const synced: string[] = [];
    for (const repo of candidates) {
      if (this.loop.stopped) break;
      // Only if nobody claimed it since we read it: the claim we saw is part of the condition.
      const claimed = await this.db.repository.updateMany({
        where: { id: repo.id, syncClaimedAt: repo.syncClaimedAt },
        data: { syncClaimedAt: now },
      });
      if (claimed.count !== 1) continue;
      synced.push(repo.id);
      try {
        await this.catalogue.sync(SYSTEM, repo.id, { auditUnchanged: false });
      } catch (error) {
        // Recorded on the repository (shown on the catalogue page); the next interval tries again.
        this.log({
          msg: 'periodic catalogue sync failed',
          repositoryId: repo.id,
          error: (error as Error).message,
        });
      }
    }
    return synced;
  }
}
