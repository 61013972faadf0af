import { STATUS_CODES } from 'node:http';
import { ControlPlaneError } from '../../errors.ts';
import { OutboundRefused, type OutboundPolicy } from '../../security/outbound.ts';
import { isOciPlatform, isOciTag } from '@binfleet/arch-table';

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** What the catalogue keeps of one tag, read from the registry itself. */
export interface RegistryImage {
  readonly digest: string;
  readonly mediaType: string;
  /** Bytes of the layers as stored (compressed), summed over the platforms of an index. */
  readonly size: number | null;
  /** From the image config; for an index, the newest of its images. */
  readonly created: Date | null;
  /** os/arch[/variant]; for an index, every platform joined with ','. */
  readonly platform: string | null;
  /** The image config's labels; for an index, its annotations, else the labels its images share. */
  readonly labels: Readonly<Record<string, string>>;
}

const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const ACCEPT = [MANIFEST, OCI_MANIFEST, LIST, OCI_INDEX].join(', ');

interface ImageManifest {
  readonly mediaType?: string;
  readonly config: { readonly digest: string };
  readonly layers: readonly { readonly size: number }[];
}
interface IndexManifest {
  readonly mediaType?: string;
  readonly manifests: readonly { readonly digest: string; readonly platform?: PlatformJson }[];
  /** binfleet's builds annotate their indexes with the provenance their images carry as labels. */
  readonly annotations?: Record<string, string>;
}
interface PlatformJson {
  readonly os?: string;
  readonly architecture?: string;
  readonly variant?: string;
}
interface ImageConfig extends PlatformJson {
  readonly created?: string;
  readonly config?: { readonly Labels?: Record<string, string> | null };
}

/** The most tags read from one repository, and `Link` pages followed for them. */
export const MAX_TAGS = 10_000;
const MAX_TAG_PAGES = 50;

/**
 * A Docker Registry HTTP API v2 client: tags, manifests and image configs, with basic auth or the
 * token flow registries answer 401 with (`WWW-Authenticate: Bearer realm=...`). Every request goes
 * through the outbound rules (OutboundPolicy: no link-local or metadata address, the allow-list,
 * redirects within the registry's origin, answers of bounded size). Credentials go only to the
 * registry's own origin, or to a token realm on https. Errors are ControlPlaneErrors that name the
 * registry and what to check, with the HTTP status and never the body of an answer.
 */
export class RegistryClient {
  private bearer: string | undefined;
  private readonly origin: string;

  constructor(
    /** http(s)://host[:port] */
    readonly url: string,
    private readonly outbound: OutboundPolicy,
    private readonly credentials?: RegistryCredentials,
    private readonly timeoutMs = 15_000,
  ) {
    this.origin = new URL(url).origin;
  }

  /**
   * Every tag of a repository (following `Link` pages within the registry, up to MAX_TAGS); none when
   * the registry does not know it. Names that are not tags in the OCI grammar are left out.
   */
  async tags(repository: string): Promise<{ tags: string[]; refused: number }> {
    const tags = new Set<string>();
    let refused = 0;
    let next: string | undefined = `/v2/${repository}/tags/list?n=1000`;
    for (let page = 0; next && page < MAX_TAG_PAGES && tags.size < MAX_TAGS; page++) {
      const response = await this.request(next, {}, [200, 404]);
      if (response.status === 404) return { tags: [], refused: 0 };
      const body = (await response.json().catch(() => undefined)) as { tags?: unknown } | undefined;
      const list = Array.isArray(body?.tags) ? (body.tags as unknown[]) : [];
      for (const tag of list) {
        if (typeof tag === 'string' && isOciTag(tag)) {
          if (tags.size < MAX_TAGS) tags.add(tag);
        } else refused++;
      }
      const link = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
      next = link && new URL(link, this.url).origin === this.origin ? link : undefined;
    }
    return { tags: [...tags], refused };
  }

  /** The manifest digest of a tag, from a HEAD request (no body). */
  async digest(repository: string, tag: string): Promise<string> {
    const response = await this.request(`/v2/${repository}/manifests/${tag}`, {
      method: 'HEAD',
      headers: { accept: ACCEPT },
    });
    return this.digestOf(response, repository, tag);
  }

  /** The manifest (or index) stored under a digest, byte for byte, with its media type. */
  async manifest(
    repository: string,
    digest: string,
  ): Promise<{ mediaType: string; body: Uint8Array<ArrayBuffer> }> {
    const response = await this.request(`/v2/${repository}/manifests/${digest}`, {
      headers: { accept: ACCEPT },
    });
    const body = new Uint8Array(await response.arrayBuffer());
    const mediaType =
      response.headers.get('content-type')?.split(';')[0] ??
      (JSON.parse(Buffer.from(body).toString('utf8')) as { mediaType?: string }).mediaType ??
      MANIFEST;
    return { mediaType, body };
  }

  /**
   * Points a tag at a manifest (or index) by storing its very bytes under the tag: the registry
   * computes the same digest, and no blob moves. Resolves with the digest the registry answers.
   */
  async putManifest(
    repository: string,
    tag: string,
    manifest: { mediaType: string; body: Uint8Array<ArrayBuffer> },
  ): Promise<string> {
    const response = await this.request(
      `/v2/${repository}/manifests/${tag}`,
      { method: 'PUT', headers: { 'content-type': manifest.mediaType }, body: manifest.body },
      [201],
    );
    return this.digestOf(response, repository, tag);
  }

  /** The tag's manifest and image config(s), summed up. */
  async image(repository: string, tag: string): Promise<RegistryImage> {
    const response = await this.request(`/v2/${repository}/manifests/${tag}`, {
      headers: { accept: ACCEPT },
    });
    const digest = this.digestOf(response, repository, tag);
    const manifest = (await response.json()) as ImageManifest | IndexManifest;
    const mediaType = response.headers.get('content-type')?.split(';')[0] ?? manifest.mediaType ?? MANIFEST;
    if ('manifests' in manifest) {
      const images = await Promise.all(
        manifest.manifests.map(async (m) =>
          this.single(repository, m.digest, await this.json<ImageManifest>(repository, m.digest)),
        ),
      );
      const created = images.map((i) => i.created).filter((d): d is Date => d !== null);
      return {
        digest,
        mediaType,
        size: images.reduce((sum, i) => sum + (i.size ?? 0), 0),
        created: created.length ? new Date(Math.max(...created.map((d) => d.getTime()))) : null,
        platform:
          images
            .map((i) => i.platform)
            .filter(Boolean)
            .join(',') || null,
        labels: manifest.annotations ?? sharedLabels(images),
      };
    }
    return { ...(await this.single(repository, digest, manifest)), mediaType };
  }

  private async single(repository: string, digest: string, manifest: ImageManifest): Promise<RegistryImage> {
    const config = await this.blob<ImageConfig>(repository, manifest.config.digest);
    const named =
      config.os && config.architecture
        ? [config.os, config.architecture, config.variant].filter(Boolean).join('/')
        : undefined;
    // Shown and filtered on: only a platform in the OCI grammar, else none.
    const platform = typeof named === 'string' && isOciPlatform(named) ? named : null;
    const created = config.created ? new Date(config.created) : null;
    return {
      digest,
      mediaType: manifest.mediaType ?? MANIFEST,
      size: manifest.layers.reduce((sum, l) => sum + l.size, 0),
      created: created && !Number.isNaN(created.getTime()) ? created : null,
      platform,
      labels: config.config?.Labels ?? {},
    };
  }

  private async json<T>(repository: string, digest: string): Promise<T> {
    const response = await this.request(`/v2/${repository}/manifests/${digest}`, {
      headers: { accept: ACCEPT },
    });
    return (await response.json()) as T;
  }

  private async blob<T>(repository: string, digest: string): Promise<T> {
    const response = await this.request(`/v2/${repository}/blobs/${digest}`);
    return (await response.json()) as T;
  }

  private digestOf(response: Response, repository: string, tag: string): string {
    const digest = response.headers.get('docker-content-digest');
    if (!digest) {
      throw new ControlPlaneError(
        'REGISTRY_FAILED',
        `${this.url} sent no Docker-Content-Digest for ${repository}:${tag}: it does not speak the Registry v2 API as expected.`,
      );
    }
    return digest;
  }

  private async request(
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: Uint8Array } = {},
    ok: readonly number[] = [200],
  ): Promise<Response> {
    const target = new URL(path, this.url);
    if (target.origin !== this.origin)
      throw new ControlPlaneError(
        'REGISTRY_FAILED',
        `The registry ${this.url} pointed at another origin (${target.origin}): not followed.`,
      );
    const send = () =>
      this.outbound.fetch(target, {
        ...init,
        headers: { ...init.headers, ...this.authorization() },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    let response: Response;
    try {
      response = await send();
      if (response.status === 401 && (await this.authenticate(response))) response = await send();
    } catch (error) {
      if (error instanceof ControlPlaneError) throw error;
      if (error instanceof OutboundRefused)
        throw new ControlPlaneError(
          'REGISTRY_FAILED',
          `The registry ${this.url} was not called: ${error.message}. An admin can change the registry's address, or BINFLEET_OUTBOUND_ALLOW.`,
        );
      const cause =
        (error as { code?: string }).code ??
        (error as { cause?: { code?: string } }).cause?.code ??
        (error as Error).name;
      throw new ControlPlaneError(
        'REGISTRY_UNREACHABLE',
        `The registry ${this.url} is unreachable (${cause}): check its address and that it is running.`,
      );
    }
    if (ok.includes(response.status)) return response;
    // The status and its standard reason only: an answer's body or reason phrase is the registry's to
    // choose, and what is stored here is shown to every viewer.
    const status = `HTTP ${response.status} ${STATUS_CODES[response.status] ?? ''}`.trim();
    if (response.status === 401 || response.status === 403) {
      throw new ControlPlaneError(
        'REGISTRY_FAILED',
        `The registry ${this.url} refused ${this.credentials ? `user ${this.credentials.username}` : 'anonymous access'} (HTTP ${response.status}): set the right username and password in the registry settings.`,
      );
    }
    throw new ControlPlaneError(
      'REGISTRY_FAILED',
      `The registry ${this.url} answered ${status} to ${init.method ?? 'GET'} ${target.pathname}.`,
    );
  }

  private authorization(): Record<string, string> {
    if (this.bearer) return { authorization: `Bearer ${this.bearer}` };
    return this.basic();
  }

  private basic(): Record<string, string> {
    if (!this.credentials) return {};
    const basic = Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64');
    return { authorization: `Basic ${basic}` };
  }

  /**
   * Follows a Bearer challenge once: asks the realm for a token, with our credentials only when the
   * realm is the registry's own origin or on https (a realm elsewhere on plain http gets none).
   */
  private async authenticate(response: Response): Promise<boolean> {
    const challenge = response.headers.get('www-authenticate') ?? '';
    if (this.bearer || !/^Bearer /i.test(challenge)) return false;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    let realm: URL;
    try {
      realm = new URL(params.realm ?? '');
    } catch {
      return false;
    }
    if (params.service) realm.searchParams.set('service', params.service);
    if (params.scope) realm.searchParams.set('scope', params.scope);
    const trusted = realm.origin === this.origin || realm.protocol === 'https:';
    const reply = await this.outbound.fetch(realm, {
      headers: trusted ? this.basic() : {},
      signal: AbortSignal.timeout(this.timeoutMs),
      maxBytes: 64 * 1024,
    });
    if (!reply.ok) return false;
    const body = (await reply.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
    const token = body.token ?? body.access_token;
    this.bearer = typeof token === 'string' && /^[\x21-\x7e]{1,8192}$/.test(token) ? token : undefined;
    return this.bearer !== undefined;
  }
}

/** `host[:port]` as docker pull wants it, from the registry's URL. */
export function registryHost(url: string): string {
  return new URL(url).host;
}

/** The labels every image of an index has with the same value: what describes the index as a whole. */
function sharedLabels(images: readonly RegistryImage[]): Record<string, string> {
  const [first, ...rest] = images;
  return Object.fromEntries(
    Object.entries(first?.labels ?? {}).filter(([key, value]) => rest.every((i) => i.labels[key] === value)),
  );
}
