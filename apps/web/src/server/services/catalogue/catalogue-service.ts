import type { Db, SecretBox } from '@binfleet/db';
import type { OutboundPolicy } from '../../security/outbound.ts';
import type { Actor, AuditService } from '../audit.ts';
import { RegistryService } from './registries.ts';
import { TagRepointer } from './repoint.ts';
import { CatalogueSync } from './sync.ts';
import { CatalogueView, type CatalogueFilter } from './view.ts';

/**
 * The catalogue as the routers and builds use it: registries and repositories configured by admins
 * (registries.ts), their tags synced from each registry's own API (sync.ts) and read by version and
 * architecture (view.ts).
 */
export class CatalogueService {
  private readonly registries: RegistryService;
  private readonly syncs: CatalogueSync;
  private readonly view: CatalogueView;
  private readonly repointer: TagRepointer;

  constructor(
    db: Db,
    secrets: SecretBox,
    audit: AuditService,
    syncIntervalMs: number,
    outbound: OutboundPolicy,
  ) {
    this.registries = new RegistryService(db, secrets, audit, syncIntervalMs);
    this.syncs = new CatalogueSync(db, audit, this.registries, outbound);
    this.view = new CatalogueView(db, this.registries);
    this.repointer = new TagRepointer(db, audit, this.registries, this.syncs, outbound);
  }

  listRegistries() {
    return this.registries.listRegistries();
  }

  createRegistry(actor: Actor, input: Parameters<RegistryService['createRegistry']>[1]) {
    return this.registries.createRegistry(actor, input);
  }

  updateRegistry(actor: Actor, input: Parameters<RegistryService['updateRegistry']>[1]) {
    return this.registries.updateRegistry(actor, input);
  }

  removeRegistry(actor: Actor, id: string) {
    return this.registries.removeRegistry(actor, id);
  }

  addRepository(actor: Actor, input: Parameters<RegistryService['addRepository']>[1]) {
    return this.registries.addRepository(actor, input);
  }

  removeRepository(actor: Actor, id: string) {
    return this.registries.removeRepository(actor, id);
  }

  credentials(registryId: string) {
    return this.registries.credentials(registryId);
  }

  repository(id: string) {
    return this.registries.repository(id);
  }

  sync(actor: Actor, repositoryId: string, options?: Parameters<CatalogueSync['sync']>[2]) {
    return this.syncs.sync(actor, repositoryId, options);
  }

  versions(repositoryId: string) {
    return this.view.versions(repositoryId);
  }

  browse(filter: CatalogueFilter) {
    return this.view.browse(filter);
  }

  /** `latest` and `register` back to what an earlier build pushed. */
  repoint(actor: Actor, buildId: string) {
    return this.repointer.repoint(actor, buildId);
  }

  compare(repositoryId: string, a: string, b: string) {
    return this.view.compare(repositoryId, a, b);
  }
}
