import {
  DEFAULT_HOST_ARCH,
  parseTag,
  PROVENANCE_LABELS,
  resolveArch,
  type ImageTag as SchemeTag,
  type TargetId,
} from '@binfleet/arch-table';
import { REPOSITORY_NAME } from '@binfleet/agent-contract';
import { mapWithConcurrency } from '@binfleet/agent/map-with-concurrency';
import type { Db, Prisma, SecretBox } from '@binfleet/db';
import { ControlPlaneError } from '../errors.ts';
import { SYSTEM, type Actor, type AuditService } from './audit.ts';
import {
  registryHost,
  RegistryClient,
  type RegistryCredentials,
  type RegistryImage,
} from './registry-client.ts';

export type TagKind = SchemeTag['kind'] | 'other';

/** One tag as the catalogue shows it. */
export interface CatalogueTag {
  readonly tag: string;
  readonly kind: TagKind;
  readonly version: string | null;
  readonly from: string | null;
  readonly to: string | null;
  readonly digest: string;
  readonly size: number | null;
  readonly created: Date | null;
  readonly platform: string | null;
  /** `docker pull host/repository:tag` */
  readonly pull: string;
  /** The register image of the same version: `docker run --rm --privileged host/repository:VERSION --reset -p yes`. */
  readonly run: string;
  readonly build: {
    readonly id: string;
    readonly packageName: string;
    readonly packageVersion: string;
    readonly packageSha256: string;
    readonly qemuVersion: string;
  } | null;
}

export interface CatalogueVersion {
  readonly version: string;
  /** The newest image of this version. */
  readonly created: Date | null;
  readonly tags: readonly CatalogueTag[];
}

export interface CatalogueFilter {
  readonly repositoryId: string;
  readonly version?: string;
  /** Any name resolveArch knows: aarch64, arm64, linux/arm64, arm64v8... */
  readonly from?: string;
  readonly to?: string;
  /** Matches either side. */
  readonly arch?: string;
  /** At most this many versions, the newest (default 10); ignored with `version`. */
  readonly limit?: number;
}

export interface SyncResult {
  readonly repository: string;
  readonly tags: number;
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
}

const tagSelect = {
  tag: true,
  digest: true,
  size: true,
  imageCreatedAt: true,
  platform: true,
  qemuVersion: true,
  fromArch: true,
  toArch: true,
  buildId: true,
} satisfies Prisma.ImageTagSelect;

const buildSelect = {
  id: true,
  packageName: true,
  packageVersion: true,
  packageSha256: true,
  qemuVersion: true,
} satisfies Prisma.BuildSelect;

const DEFAULT_VERSIONS_SHOWN = 10;

/** Manifest requests in flight at once during a sync. */
const SYNC_CONCURRENCY = 8;

/**
 * Registries and repositories (configured by admins) and the catalogue of their tags, synced from
 * each registry's own API so that tags pushed by anyone appear, each read with the arch table's
 * tag scheme.
 */
export class CatalogueService {
  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox,
    private readonly audit: AuditService,
    /** The runner's periodic sync interval (0: off), shown with each repository's last sync. */
    private readonly syncIntervalMs: number,
  ) {}

  // --- registries and repositories -------------------------------------------------------------

  async listRegistries() {
    const rows = await this.db.registry.findMany({
      orderBy: { url: 'asc' },
      select: {
        id: true,
        url: true,
        username: true,
        passwordSealed: true,
        lastSyncedAt: true,
        repositories: {
          orderBy: { name: 'asc' },
          select: {
            id: true,
            name: true,
            lastSyncedAt: true,
            lastSyncAttemptAt: true,
            lastSyncError: true,
            lastSyncSummary: true,
            _count: { select: { tags: true } },
          },
        },
      },
    });
    return rows.map(({ passwordSealed, repositories, ...r }) => ({
      ...r,
      host: registryHost(r.url),
      hasPassword: passwordSealed !== null,
      repositories: repositories.map(({ _count, ...repo }) => ({
        ...repo,
        tagCount: _count.tags,
        autoSyncIntervalMs: this.syncIntervalMs,
      })),
    }));
  }

  async createRegistry(
    actor: Actor,
    input: { url: string; username?: string | null; password?: string | null },
  ) {
    const url = normalizeRegistryUrl(input.url);
    if (await this.db.registry.findUnique({ where: { url }, select: { id: true } })) {
      throw new ControlPlaneError('CONFLICT', `The registry ${url} is configured already.`);
    }
    const row = await this.db.registry.create({
      data: { url, username: input.username ?? null },
      select: { id: true },
    });
    if (input.password) await this.setPassword(row.id, input.password);
    await this.audit.record({
      actor,
      action: 'registry.create',
      targets: [url],
      params: { username: input.username },
      outcome: 'success',
    });
    return { id: row.id, url };
  }

  /** `username`/`password`: null clears, undefined keeps. */
  async updateRegistry(
    actor: Actor,
    input: { id: string; url?: string; username?: string | null; password?: string | null },
  ) {
    const current = await this.registry(input.id);
    const url = input.url === undefined ? current.url : normalizeRegistryUrl(input.url);
    await this.db.registry.update({
      where: { id: input.id },
      data: {
        url,
        ...(input.username === undefined ? {} : { username: input.username }),
        ...(input.password === null ? { passwordSealed: null } : {}),
      },
    });
    if (input.password) await this.setPassword(input.id, input.password);
    await this.audit.record({
      actor,
      action: 'registry.update',
      targets: [url],
      params: { username: input.username, passwordChanged: input.password !== undefined },
      outcome: 'success',
    });
  }

  async removeRegistry(actor: Actor, id: string) {
    const current = await this.registry(id);
    await this.db.registry.delete({ where: { id } });
    await this.audit.record({ actor, action: 'registry.remove', targets: [current.url], outcome: 'success' });
  }

  async addRepository(actor: Actor, input: { registryId: string; name: string }) {
    const registry = await this.registry(input.registryId);
    if (!REPOSITORY_NAME.test(input.name) || input.name.length > 255) {
      throw new ControlPlaneError(
        'INVALID_INPUT',
        `"${input.name.slice(0, 80)}" is not a repository name: use lower-case parts separated by / (e.g. multiarch/qemu-user-static).`,
      );
    }
    const existing = await this.db.repository.findUnique({
      where: { registryId_name: { registryId: registry.id, name: input.name } },
      select: { id: true },
    });
    if (existing)
      throw new ControlPlaneError(
        'CONFLICT',
        `${registryHost(registry.url)}/${input.name} is in the catalogue already.`,
      );
    const row = await this.db.repository.create({
      data: { registryId: registry.id, name: input.name },
      select: { id: true },
    });
    await this.audit.record({
      actor,
      action: 'repository.add',
      targets: [`${registryHost(registry.url)}/${input.name}`],
      outcome: 'success',
    });
    return row;
  }

  async removeRepository(actor: Actor, id: string) {
    const repo = await this.repository(id);
    await this.db.repository.delete({ where: { id } });
    await this.audit.record({
      actor,
      action: 'repository.remove',
      targets: [repo.reference],
      outcome: 'success',
    });
  }

  /** The registry's credentials in clear, for the builder agent that pushes to it. */
  async credentials(registryId: string): Promise<RegistryCredentials | undefined> {
    const registry = await this.registry(registryId);
    if (!registry.username || !registry.passwordSealed) return undefined;
    return {
      username: registry.username,
      password: this.secrets.open(registry.passwordSealed, passwordContext(registry.id)),
    };
  }

  async repository(id: string) {
    const repo = await this.db.repository.findUnique({
      where: { id },
      select: { id: true, name: true, lastSyncedAt: true, registry: { select: { id: true, url: true } } },
    });
    if (!repo) throw new ControlPlaneError('NOT_FOUND', 'No such repository: it may have been removed.');
    const host = registryHost(repo.registry.url);
    return { ...repo, host, reference: `${host}/${repo.name}` };
  }

  // --- sync ----------------------------------------------------------------------------------------

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
    const repo = await this.repository(repositoryId);
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
  private async pull(repo: Awaited<ReturnType<CatalogueService['repository']>>): Promise<SyncResult> {
    const repositoryId = repo.id;
    const client = new RegistryClient(repo.registry.url, await this.credentials(repo.registry.id));
    const names = await client.tags(repo.name);
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
    if (gone.length) await this.db.imageTag.deleteMany({ where: { repositoryId, tag: { in: gone } } });
    return { repository: repo.reference, tags: names.length, added, updated, removed: gone.length };
  }

  // --- browsing ------------------------------------------------------------------------------------

  async versions(repositoryId: string) {
    const groups = await this.db.imageTag.groupBy({
      by: ['qemuVersion'],
      where: { repositoryId },
      _max: { imageCreatedAt: true },
      _count: { _all: true },
    });
    return groups
      .map((g) => ({ version: g.qemuVersion, created: g._max.imageCreatedAt, tags: g._count._all }))
      .sort((a, b) => (a.version === null ? 1 : b.version === null ? -1 : newestFirst(a, b)));
  }

  /**
   * The repository's tags matching the filter, by version (newest first), each with its pull line,
   * the matching register command and its provenance. Filtering happens in the database.
   */
  async browse(filter: CatalogueFilter): Promise<{
    repository: { id: string; name: string; reference: string };
    versions: CatalogueVersion[];
    /** Tags outside the scheme (pushed by someone else). */
    other: CatalogueTag[];
    /** Tags shown. */
    total: number;
    /** Matching versions left out by `limit` (older ones). */
    moreVersions: number;
  }> {
    const repo = await this.repository(filter.repositoryId);
    const where: Prisma.ImageTagWhereInput = { repositoryId: repo.id };
    if (filter.from) where.fromArch = { in: resolveArch(filter.from) };
    if (filter.to) where.toArch = { in: resolveArch(filter.to) };
    if (filter.arch) {
      const ids = resolveArch(filter.arch);
      where.OR = [{ fromArch: { in: ids } }, { toArch: { in: ids } }];
    }
    let moreVersions = 0;
    if (filter.version) where.qemuVersion = filter.version;
    else {
      // The newest versions only: the database groups, then returns only their tags.
      const limit = filter.limit ?? DEFAULT_VERSIONS_SHOWN;
      const groups = await this.db.imageTag.groupBy({
        by: ['qemuVersion'],
        where,
        _max: { imageCreatedAt: true },
      });
      const ordered = groups
        .flatMap((g) =>
          g.qemuVersion === null ? [] : [{ version: g.qemuVersion, created: g._max.imageCreatedAt }],
        )
        .sort(newestFirst);
      moreVersions = Math.max(0, ordered.length - limit);
      if (moreVersions > 0) {
        where.AND = [
          {
            OR: [
              { qemuVersion: { in: ordered.slice(0, limit).map((v) => v.version) } },
              { qemuVersion: null },
            ],
          },
        ];
      }
    }
    const rows = await this.db.imageTag.findMany({ where, select: tagSelect });
    const buildIds = [...new Set(rows.flatMap((r) => r.buildId ?? []))];
    const builds = new Map(
      buildIds.length
        ? (await this.db.build.findMany({ where: { id: { in: buildIds } }, select: buildSelect })).map(
            (b) => [b.id, b],
          )
        : [],
    );
    const byVersion = new Map<string, CatalogueTag[]>();
    const other: CatalogueTag[] = [];
    for (const row of rows) {
      const view = tagView(repo.reference, row, builds);
      if (row.qemuVersion === null) other.push(view);
      else {
        const list = byVersion.get(row.qemuVersion);
        if (list) list.push(view);
        else byVersion.set(row.qemuVersion, [view]);
      }
    }
    const versions = [...byVersion].map(([version, tags]) => ({
      version,
      created: tags.reduce<Date | null>(
        (max, t) => (t.created && (!max || t.created > max) ? t.created : max),
        null,
      ),
      tags: tags.sort(byScheme),
    }));
    return {
      repository: { id: repo.id, name: repo.name, reference: repo.reference },
      versions: versions.sort(newestFirst),
      other: other.sort(byScheme),
      total: rows.length,
      moreVersions,
    };
  }

  /** Two versions side by side: per image of the scheme, each version's digest and size. */
  async compare(repositoryId: string, a: string, b: string) {
    const rows = await this.db.imageTag.findMany({
      where: { repositoryId, qemuVersion: { in: [a, b] } },
      select: tagSelect,
    });
    const slots = new Map<
      string,
      { key: string; from: string | null; to: string | null; a?: Side; b?: Side }
    >();
    for (const row of rows) {
      const parsed = safeParse(row.tag);
      // Only the versioned names: the others are the same images again.
      if (!parsed || !('version' in parsed)) continue;
      const key =
        parsed.kind === 'version' ? 'register + emulators' : parsed.tag.slice(0, -parsed.version.length - 1);
      const slot = slots.get(key) ?? { key, from: row.fromArch, to: row.toArch };
      slot[row.qemuVersion === a ? 'a' : 'b'] = {
        tag: row.tag,
        digest: row.digest,
        size: row.size === null ? null : Number(row.size),
        created: row.imageCreatedAt,
      };
      slots.set(key, slot);
    }
    return [...slots.values()]
      .map((s) => ({
        ...s,
        a: s.a ?? null,
        b: s.b ?? null,
        change: !s.a ? 'added' : !s.b ? 'removed' : s.a.digest === s.b.digest ? 'same' : 'changed',
        sizeDelta: s.a?.size != null && s.b?.size != null ? s.b.size - s.a.size : null,
      }))
      .sort((x, y) =>
        x.key === 'register + emulators'
          ? -1
          : y.key === 'register + emulators'
            ? 1
            : x.key.localeCompare(y.key),
      );
  }

  private async registry(id: string) {
    const row = await this.db.registry.findUnique({ where: { id } });
    if (!row) throw new ControlPlaneError('NOT_FOUND', 'No such registry: it may have been removed.');
    return row;
  }

  private async setPassword(id: string, password: string) {
    await this.db.registry.update({
      where: { id },
      data: { passwordSealed: this.secrets.seal(password, passwordContext(id)) },
    });
  }
}

interface Side {
  readonly tag: string;
  readonly digest: string;
  readonly size: number | null;
  readonly created: Date | null;
}

const passwordContext = (registryId: string) => `registry:${registryId}:password`;

/** `https://registry.example.com`, `http://127.0.0.1:5000`; a bare host[:port] means https. */
export function normalizeRegistryUrl(input: string): string {
  const text = input.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    throw new ControlPlaneError(
      'INVALID_INPUT',
      `"${text.slice(0, 80)}" is not a registry address: e.g. https://registry.example.com or http://127.0.0.1:5000.`,
    );
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.username ||
    url.password ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search
  ) {
    throw new ControlPlaneError(
      'INVALID_INPUT',
      `"${text.slice(0, 80)}" is not a registry address: give http(s)://host[:port] only (credentials go in the username and password fields).`,
    );
  }
  return url.origin;
}

function safeParse(tag: string): SchemeTag | undefined {
  try {
    return parseTag(tag);
  } catch {
    return undefined;
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
    from = platformArch ?? DEFAULT_HOST_ARCH;
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

type TagRow = Prisma.ImageTagGetPayload<{ select: typeof tagSelect }>;

function tagView(
  reference: string,
  row: TagRow,
  builds: ReadonlyMap<string, Prisma.BuildGetPayload<{ select: typeof buildSelect }>>,
): CatalogueTag {
  const kind: TagKind = safeParse(row.tag)?.kind ?? 'other';
  const run =
    kind === 'register'
      ? `docker run --rm --privileged ${reference}:register --reset`
      : `docker run --rm --privileged ${reference}:${row.qemuVersion ?? 'latest'} --reset -p yes`;
  return {
    tag: row.tag,
    kind,
    version: row.qemuVersion,
    from: row.fromArch,
    to: row.toArch,
    digest: row.digest,
    size: row.size === null ? null : Number(row.size),
    created: row.imageCreatedAt,
    platform: row.platform,
    pull: `docker pull ${reference}:${row.tag}`,
    run,
    build: (row.buildId && builds.get(row.buildId)) || null,
  };
}

const KIND_ORDER: Record<TagKind, number> = {
  version: 0,
  latest: 1,
  register: 2,
  'pair-version': 3,
  pair: 4,
  'target-version': 5,
  target: 6,
  other: 7,
};

function byScheme(a: CatalogueTag, b: CatalogueTag): number {
  return (
    (a.to ?? '').localeCompare(b.to ?? '') ||
    KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
    a.tag.localeCompare(b.tag)
  );
}

/** Newest image first; versions without dates last, by version text (numbers compared as numbers). */
function newestFirst(
  a: { version: string | null; created: Date | null },
  b: { version: string | null; created: Date | null },
): number {
  const t = (b.created?.getTime() ?? -Infinity) - (a.created?.getTime() ?? -Infinity);
  if (t !== 0 && Number.isFinite(t)) return t;
  if (a.created && !b.created) return -1;
  if (b.created && !a.created) return 1;
  return (b.version ?? '').localeCompare(a.version ?? '', 'en', { numeric: true });
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
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private ticking: Promise<unknown> | undefined;

  constructor(
    private readonly db: Db,
    private readonly catalogue: CatalogueService,
    private readonly config: CatalogueSyncConfig,
    private readonly log: (line: Record<string, unknown>) => void = (l) => console.log(JSON.stringify(l)),
  ) {}

  start(): void {
    if (this.config.intervalMs <= 0) return;
    this.stopping = false;
    // Checked a few times per interval, so a replica that stops leaves the next sync late by a fraction.
    const pollMs = Math.max(250, Math.min(this.config.intervalMs / 4, 30_000));
    const loop = async () => {
      if (this.stopping) return;
      this.ticking = this.tick().catch((error: unknown) => {
        this.log({ msg: 'catalogue sync tick failed', error: (error as Error).message });
      });
      await this.ticking;
      if (!this.stopping) this.timer = setTimeout(loop, pollMs);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.ticking;
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
      if (this.stopping) break;
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
