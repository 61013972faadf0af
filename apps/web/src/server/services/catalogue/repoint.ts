import type { Db } from '@binfleet/db';
import { ControlPlaneError } from '../../errors.ts';
import type { Actor, AuditService } from '../audit.ts';
import type { RegistryService } from './registries.ts';
import type { OutboundPolicy } from '../../security/outbound.ts';
import { RegistryClient } from './registry-client.ts';
import type { CatalogueSync } from './sync.ts';

/** The moving tags a release is made of, re-pointed together. */
export const MOVING_TAGS = ['latest', 'register'] as const;

export interface RepointedTag {
  readonly tag: string;
  readonly digest: string;
  /** What the tag pointed at before; null when the registry had no such tag. */
  readonly previous: string | null;
}

/**
 * Puts `latest` and `register` back on an earlier build: each tag gets the manifest (or index) that
 * build pushed under it, copied by digest through the registry API, so the images are the very ones
 * that build pushed and tested. Audited, then the catalogue is synced so that it shows the change.
 */
export class TagRepointer {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly registries: RegistryService,
    private readonly syncs: CatalogueSync,
    private readonly outbound: OutboundPolicy,
  ) {}

  async repoint(actor: Actor, buildId: string): Promise<{ tags: RepointedTag[] }> {
    const build = await this.db.build.findUnique({
      where: { id: buildId },
      select: { status: true, pushedTags: true, repositoryId: true },
    });
    if (!build) throw new ControlPlaneError('NOT_FOUND', 'No such build.');
    if (!build.repositoryId) {
      throw new ControlPlaneError('CONFLICT', 'Its repository was removed from the catalogue: add it again.');
    }
    if (build.status !== 'succeeded') {
      throw new ControlPlaneError(
        'CONFLICT',
        `The build ${build.status === 'failed' || build.status === 'cancelled' ? 'did not succeed' : 'has not finished'}: only a build that pushed its tags can become latest.`,
      );
    }
    const pushed = new Map(
      ((build.pushedTags ?? []) as { tag: string; digest: string }[]).map((t) => [t.tag, t.digest]),
    );
    const wanted = MOVING_TAGS.filter((tag) => pushed.has(tag));
    if (!wanted.includes('latest')) {
      throw new ControlPlaneError(
        'CONFLICT',
        'The build pushed no latest tag: there is nothing to point at.',
      );
    }
    const repo = await this.registries.repository(build.repositoryId);
    const credentials = await this.registries.credentials(repo.registry.id);
    const client = new RegistryClient(repo.registry.url, this.outbound, credentials);
    const tags: RepointedTag[] = [];
    try {
      // Every manifest is read before any tag moves: a deleted one leaves both tags as they were.
      const manifests = await Promise.all(
        wanted.map(async (tag) => {
          const digest = pushed.get(tag)!;
          const manifest = await client.manifest(repo.name, digest).catch((error: unknown) => {
            throw new ControlPlaneError(
              'CONFLICT',
              `${repo.reference}@${digest} (the build's ${tag}) cannot be read from the registry, deleted perhaps: ${(error as Error).message}`,
            );
          });
          return { tag, digest, manifest };
        }),
      );
      for (const { tag, digest, manifest } of manifests) {
        const previous = await client.digest(repo.name, tag).catch(() => null);
        // A client of its own: a token registry answers the push with a challenge for push scope, and
        // a client keeps the first token it got (pull scope, from the reads above).
        const writer = new RegistryClient(repo.registry.url, this.outbound, credentials);
        const stored = await writer.putManifest(repo.name, tag, manifest);
        if (stored !== digest) {
          throw new ControlPlaneError(
            'REGISTRY_FAILED',
            `${repo.reference} stored ${tag} as ${stored}, not ${digest}: it rewrote the manifest; push the build's tags again instead.`,
          );
        }
        tags.push({ tag, digest, previous });
      }
    } catch (error) {
      await this.audit.record({
        actor,
        action: 'catalogue.repoint',
        targets: [repo.reference],
        params: { buildId, tags },
        outcome: 'failure',
        detail: (error as Error).message,
      });
      throw error;
    }
    await this.audit.record({
      actor,
      action: 'catalogue.repoint',
      targets: [repo.reference],
      params: { buildId, tags },
      outcome: 'success',
    });
    await this.syncs.sync(actor, repo.id);
    return { tags };
  }
}
