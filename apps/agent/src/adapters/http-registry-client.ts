import { readFile } from 'node:fs/promises';
import { AgentError } from '../errors.ts';
import type { PushedManifest, RegistryAuth, RegistryClient, RegistryTarget } from './registry-client.ts';

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

/** Where dockerd, too, speaks plain HTTP without being told. */
const isLoopback = (registry: string) => /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/i.test(registry);

interface RegistryErrorBody {
  readonly errors?: readonly {
    readonly code?: string;
    readonly message?: string;
    readonly detail?: unknown;
  }[];
}

/**
 * The distribution API over fetch: blobs by monolithic upload (a blob here is one layer or config,
 * a few MB), manifests and indexes by PUT. Answers a 401 the way docker does: Basic, or a Bearer
 * token fetched from the realm the registry names, with the credentials given.
 */
export class HttpRegistryClient implements RegistryClient {
  /** Authorization header per registry and repository, once a challenge was answered. */
  private readonly authorizations = new Map<string, string>();

  constructor(private readonly timeoutMs = 120_000) {}

  async pushBlob(
    target: RegistryTarget,
    blob: { digest: string; size: number; path: string },
  ): Promise<boolean> {
    const head = await this.request(target, 'HEAD', `blobs/${blob.digest}`, `checking blob ${blob.digest}`);
    if (head.status === 200) return false;
    const started = await this.request(
      target,
      'POST',
      'blobs/uploads/',
      `starting the upload of ${blob.digest}`,
    );
    await this.expect(started, 202, target, `starting the upload of ${blob.digest}`);
    const location = started.headers.get('location');
    if (!location) {
      throw new AgentError(
        'REGISTRY_REFUSED',
        `${target.registry} started an upload without a Location header: it does not speak the distribution API; check the registry address.`,
      );
    }
    const url = new URL(location, this.base(target));
    url.searchParams.set('digest', blob.digest);
    const body = await readFile(blob.path);
    if (body.length !== blob.size) {
      throw new AgentError(
        'INTERNAL',
        `${blob.path} changed size while the build ran (${body.length} != ${blob.size}).`,
      );
    }
    const put = await this.request(target, 'PUT', url.href, `uploading ${blob.digest}`, {
      body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    await this.expect(put, 201, target, `uploading blob ${blob.digest}`);
    return true;
  }

  async pushManifest(
    target: RegistryTarget,
    reference: string,
    manifest: { mediaType: string; body: Buffer },
  ): Promise<PushedManifest> {
    const doing = `pushing ${INDEX_TYPES.has(manifest.mediaType) ? 'the image index' : 'the manifest'} ${target.repository}:${reference}`;
    const put = () =>
      this.request(target, 'PUT', `manifests/${reference}`, doing, {
        body: manifest.body,
        headers: { 'content-type': manifest.mediaType },
      });
    let response = await put();
    if (response.status !== 201 && INDEX_TYPES.has(manifest.mediaType) && response.status < 500) {
      let why = await describe(response);
      if (why.startsWith('HTTP 400 DIGEST_INVALID')) {
        // A registry on the filesystem driver reads a manifest's link empty while another client
        // tags that manifest, and says DIGEST_INVALID for an index naming it: once more, then it is meant.
        await new Promise((resolve) => setTimeout(resolve, 500));
        response = await put();
        if (response.status === 201) return this.stored(response, target, reference, manifest.body);
        why = await describe(response);
      }
      throw new AgentError(
        'REGISTRY_REFUSED',
        `${target.registry} refused the OCI image index ${target.repository}:${reference} (${why}): ` +
          'this registry does not accept multi-platform images. Push to a registry that stores OCI image indexes ' +
          '(distribution 2.7 or later, Docker Hub, GHCR, Harbor, Quay).',
        { status: response.status },
      );
    }
    await this.expect(response, 201, target, doing);
    return this.stored(response, target, reference, manifest.body);
  }

  private async stored(
    response: Response,
    target: RegistryTarget,
    reference: string,
    body: Buffer,
  ): Promise<PushedManifest> {
    await response.body?.cancel();
    const digest = response.headers.get('docker-content-digest');
    if (!digest) {
      throw new AgentError(
        'REGISTRY_REFUSED',
        `${target.registry} stored ${target.repository}:${reference} but named no Docker-Content-Digest: use a registry that implements the distribution API.`,
      );
    }
    return { digest, size: body.length };
  }

  private base(target: RegistryTarget): string {
    const scheme = target.insecure || isLoopback(target.registry) ? 'http' : 'https';
    return `${scheme}://${target.registry}/v2/${target.repository}/`;
  }

  private async request(
    target: RegistryTarget,
    method: string,
    path: string,
    doing: string,
    init: { body?: Buffer; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const url = /^https?:/.test(path) ? path : this.base(target) + path;
    const key = `${target.registry}/${target.repository}`;
    const send = (authorization: string | undefined) =>
      fetch(url, {
        method,
        headers: { ...init.headers, ...(authorization ? { authorization } : {}) },
        ...(init.body ? { body: init.body } : {}),
        redirect: 'follow',
        signal: AbortSignal.timeout(this.timeoutMs),
      }).catch((error: unknown) => {
        throw new AgentError(
          'REGISTRY_UNREACHABLE',
          `${target.registry} did not answer while ${doing} (${causeOf(error)}): check the address, that the registry runs, ` +
            `and --insecure for a registry without TLS.`,
        );
      });
    let response = await send(this.authorizations.get(key));
    if (response.status !== 401) return response;
    const challenge = response.headers.get('www-authenticate') ?? '';
    await response.body?.cancel();
    const authorization = await this.answer(challenge, target, doing);
    this.authorizations.set(key, authorization);
    response = await send(authorization);
    if (response.status === 401) {
      throw new AgentError(
        'REGISTRY_REFUSED',
        `${target.registry} refused the credentials${target.auth ? ` of ${target.auth.username}` : ' (none were given)'} while ${doing}: ` +
          'give a user that may push to this repository (BINFLEET_REGISTRY_USERNAME and BINFLEET_REGISTRY_PASSWORD, or a credentials file).',
      );
    }
    return response;
  }

  /** The Authorization header for a challenge: Basic with the credentials, or a token from the realm. */
  private async answer(challenge: string, target: RegistryTarget, doing: string): Promise<string> {
    const basic = target.auth ? basicOf(target.auth) : undefined;
    const [scheme] = challenge.split(' ');
    if (scheme?.toLowerCase() === 'basic') {
      if (basic) return basic;
    } else if (scheme?.toLowerCase() === 'bearer') {
      const params = Object.fromEntries(
        [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]),
      );
      if (params.realm) {
        const url = new URL(params.realm);
        if (params.service) url.searchParams.set('service', params.service);
        url.searchParams.set('scope', `repository:${target.repository}:pull,push`);
        const response = await fetch(url, {
          headers: basic ? { authorization: basic } : {},
          signal: AbortSignal.timeout(this.timeoutMs),
        }).catch((error: unknown) => {
          throw new AgentError(
            'REGISTRY_UNREACHABLE',
            `The token service ${url.origin} of ${target.registry} did not answer while ${doing} (${causeOf(error)}).`,
          );
        });
        const body = (await response.json().catch(() => ({}))) as { token?: string; access_token?: string };
        const token = body.token ?? body.access_token;
        if (response.ok && token) return `Bearer ${token}`;
      }
    }
    throw new AgentError(
      'REGISTRY_REFUSED',
      `${target.registry} asks for credentials while ${doing}${target.auth ? ` and refused those of ${target.auth.username}` : ''}: ` +
        'give BINFLEET_REGISTRY_USERNAME and BINFLEET_REGISTRY_PASSWORD (or a credentials file) for a user that may push.',
    );
  }

  private async expect(response: Response, status: number, target: RegistryTarget, doing: string) {
    if (response.status === status) {
      await response.body?.cancel();
      return;
    }
    throw new AgentError(
      'REGISTRY_REFUSED',
      `${target.registry} refused ${doing} (${await describe(response)}): check the repository name and that the user may push to it.`,
      { status: response.status },
    );
  }
}

const basicOf = (auth: RegistryAuth) =>
  `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;

/** The registry's own words: HTTP status and the first error code and message of its JSON body. */
async function describe(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  let detail = text.trim().slice(0, 200);
  try {
    const first = (JSON.parse(text) as RegistryErrorBody).errors?.[0];
    if (first) detail = [first.code, first.message].filter(Boolean).join(': ');
  } catch {
    // Not JSON: the text as it is.
  }
  return `HTTP ${response.status}${detail ? ` ${detail}` : ''}`;
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
