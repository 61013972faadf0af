import { REPOSITORY_NAME } from '@binfleet/agent-contract';
import type { Db, SecretBox } from '@binfleet/db';
import { ControlPlaneError } from '../../errors.ts';
import type { Actor, AuditService } from '../audit.ts';
import { registryHost, type RegistryCredentials } from './registry-client.ts';

/** A repository as sync and view use it: its registry and its `host/name` reference. */
export type RepositoryRef = Awaited<ReturnType<RegistryService['repository']>>;

/** Registries and their repositories, as admins configure them, with each registry's sealed password. */
export class RegistryService {
  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox,
    private readonly audit: AuditService,
    /** The runner's periodic sync interval (0: off), shown with each repository's last sync. */
    private readonly syncIntervalMs: number,
  ) {}

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

const passwordContext = (registryId: string) => `registry:${registryId}:password`;

/** `https://registry.example.com`, `http://127.0.0.1:5000`; a bare host[:port] means https. */
function normalizeRegistryUrl(input: string): string {
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
