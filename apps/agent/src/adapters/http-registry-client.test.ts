import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpRegistryClient } from './http-registry-client.ts';

/** A registry on loopback that wants a Bearer token from its own realm, given for ci:secret only. */
function tokenRegistry(): { server: Server; seen: string[] } {
  const seen: string[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const url = new URL(request.url!, 'http://x');
      seen.push(`${request.method} ${url.pathname}`);
      if (url.pathname === '/token') {
        const ok = request.headers.authorization === `Basic ${Buffer.from('ci:secret').toString('base64')}`;
        const scope = url.searchParams.get('scope');
        if (!ok || scope !== 'repository:team/qemu:pull,push') return response.writeHead(401).end();
        return response.writeHead(200).end(JSON.stringify({ token: 'T0K3N' }));
      }
      if (request.headers.authorization !== 'Bearer T0K3N') {
        const realm = `http://${request.headers.host}/token`;
        return response
          .writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="test",scope="x"` })
          .end();
      }
      if (request.method === 'HEAD') return response.writeHead(404).end();
      if (request.method === 'POST')
        return response.writeHead(202, { location: '/v2/team/qemu/blobs/uploads/u1?state=a' }).end();
      if (url.pathname.includes('/blobs/uploads/')) {
        const body = Buffer.concat(chunks);
        const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
        return response.writeHead(url.searchParams.get('digest') === digest ? 201 : 400).end();
      }
      const digest = `sha256:${createHash('sha256').update(Buffer.concat(chunks)).digest('hex')}`;
      return response.writeHead(201, { 'docker-content-digest': digest }).end();
    });
  });
  return { server, seen };
}

describe('HttpRegistryClient', () => {
  let dir: string;
  let registry: ReturnType<typeof tokenRegistry>;
  let address: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'registry-client-'));
    registry = tokenRegistry();
    await new Promise<void>((resolve) => registry.server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(registry.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => registry.server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a Bearer challenge with a token from the realm, then uploads and puts manifests', async () => {
    const client = new HttpRegistryClient(5_000);
    const target = {
      registry: address,
      repository: 'team/qemu',
      auth: { username: 'ci', password: 'secret' },
    };
    const body = Buffer.from('layer bytes');
    await writeFile(join(dir, 'blob'), body);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    expect(await client.pushBlob(target, { digest, size: body.length, path: join(dir, 'blob') })).toBe(true);
    const manifest = Buffer.from('{"schemaVersion":2}');
    const pushed = await client.pushManifest(target, 'latest', {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      body: manifest,
    });
    expect(pushed.digest).toBe(`sha256:${createHash('sha256').update(manifest).digest('hex')}`);
    // One token fetch, then the token is reused.
    expect(registry.seen.filter((s) => s === 'GET /token')).toHaveLength(1);
  });

  it('names the user and where credentials come from when the token service refuses them', async () => {
    const client = new HttpRegistryClient(5_000);
    const target = {
      registry: address,
      repository: 'team/qemu',
      auth: { username: 'ci', password: 'wrong' },
    };
    await expect(
      client.pushManifest(target, 'latest', {
        mediaType: 'application/vnd.oci.image.index.v1+json',
        body: Buffer.from('{}'),
      }),
    ).rejects.toThrowError(/asks for credentials .* refused those of ci: give BINFLEET_REGISTRY_USERNAME/);
  });

  it('says the registry is unreachable, with what to check', async () => {
    const client = new HttpRegistryClient(5_000);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(
      client.pushBlob(
        { registry: `127.0.0.1:${port}`, repository: 'x' },
        { digest: 'sha256:00', size: 0, path: '/dev/null' },
      ),
    ).rejects.toMatchObject({
      code: 'REGISTRY_UNREACHABLE',
      message: expect.stringMatching(/did not answer .*ECONNREFUSED/),
    });
  });
  it('puts an index once more when the registry read a manifest link mid-write (DIGEST_INVALID), then means it', async () => {
    let refusals = 0;
    let puts = 0;
    const flaky = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        puts++;
        if (puts <= refusals) {
          const error = { code: 'DIGEST_INVALID', message: 'provided digest did not match uploaded content' };
          return response.writeHead(400).end(JSON.stringify({ errors: [error] }));
        }
        return response.writeHead(201, { 'docker-content-digest': 'sha256:ab' }).end();
      });
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const target = {
      registry: `127.0.0.1:${(flaky.address() as AddressInfo).port}`,
      repository: 'team/qemu',
    };
    const index = { mediaType: 'application/vnd.oci.image.index.v1+json', body: Buffer.from('{}') };
    try {
      const client = new HttpRegistryClient(5_000);
      refusals = 1;
      expect(await client.pushManifest(target, 'latest', index)).toEqual({ digest: 'sha256:ab', size: 2 });
      expect(puts).toBe(2);
      puts = 0;
      refusals = 2;
      await expect(client.pushManifest(target, 'latest', index)).rejects.toThrowError(
        /refused the OCI image index team\/qemu:latest \(HTTP 400 DIGEST_INVALID: provided digest/,
      );
      expect(puts).toBe(2);
    } finally {
      await new Promise((resolve) => flaky.close(resolve));
    }
  });
});
