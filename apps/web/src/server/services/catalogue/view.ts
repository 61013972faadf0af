import { resolveArch, type ImageTag as SchemeTag } from '@binfleet/arch-table';
import type { Db, Prisma } from '@binfleet/db';
import type { RegistryService } from './registries.ts';
import { safeParse } from './tag-scheme.ts';

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
  /** `docker pull host/repository:tag`; none for a tag outside the scheme (pushed by someone else). */
  readonly pull: string | null;
  /** `docker pull host/repository@sha256:...`: the same image, pinned by digest; none outside the scheme. */
  readonly pinned: string | null;
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

/**
 * The catalogue as people read it: a repository's versions, their tags filtered by architecture, and
 * two versions side by side.
 */
export class CatalogueView {
  constructor(
    private readonly db: Db,
    private readonly registries: RegistryService,
  ) {}

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
    const repo = await this.registries.repository(filter.repositoryId);
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
}

interface Side {
  readonly tag: string;
  readonly digest: string;
  readonly size: number | null;
  readonly created: Date | null;
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
    pull: kind === 'other' ? null : `docker pull ${reference}:${row.tag}`,
    pinned: kind === 'other' ? null : `docker pull ${reference}@${row.digest}`,
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
