import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DockerodeClient } from './dockerode-client.ts';

/** A dockerd that answers only /version, on a unix socket of its own, counting the requests. */
function fakeDockerd(socketPath: string) {
  const dockerd = { requests: 0, server: undefined as Server | undefined };
  const start = () =>
    new Promise<void>((resolve) => {
      dockerd.server = createServer((req, res) => {
        dockerd.requests++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ Version: '20.10.24+dfsg1', ApiVersion: '1.41' }));
      }).listen(socketPath, resolve);
    });
  const stop = () => new Promise<void>((resolve) => dockerd.server!.close(() => resolve()));
  return Object.assign(dockerd, { start, stop });
}

describe('DockerodeClient.info', () => {
  let dir: string;
  let dockerd: ReturnType<typeof fakeDockerd>;
  let clock: number;
  let client: DockerodeClient;
  const recent = { maxAgeMs: 60_000 };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-docker-client-'));
    dockerd = fakeDockerd(join(dir, 'docker.sock'));
    await dockerd.start();
    clock = 0;
    client = new DockerodeClient(join(dir, 'docker.sock'), () => clock);
  });
  afterEach(async () => {
    if (dockerd.server?.listening) await dockerd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers from the last reachable answer until it is maxAgeMs old, then asks dockerd again', async () => {
    const reachable = { reachable: true, version: '20.10.24+dfsg1', apiVersion: '1.41' };
    expect(await client.info(recent)).toEqual(reachable);
    clock = 59_999;
    expect(await client.info(recent)).toEqual(reachable);
    expect(dockerd.requests).toBe(1);
    clock = 60_000;
    expect(await client.info(recent)).toEqual(reachable);
    expect(dockerd.requests).toBe(2);
  });

  it('asks dockerd at every call without maxAgeMs, and shares one request between calls in flight', async () => {
    await Promise.all([client.info(), client.info(recent), client.info(recent)]);
    expect(dockerd.requests).toBe(1);
    await client.info();
    await client.info();
    expect(dockerd.requests).toBe(3);
  });

  it('shows a dockerd that went away within maxAgeMs, and one that came back at the next call', async () => {
    await client.info(recent);
    await dockerd.stop();
    clock = 30_000;
    expect((await client.info(recent)).reachable).toBe(true);
    clock = 60_000;
    expect(await client.info(recent)).toMatchObject({ reachable: false, error: expect.any(String) });
    await dockerd.start();
    clock = 60_001;
    expect((await client.info(recent)).reachable).toBe(true);
  });

  it('takes a fresh answer that finds dockerd gone (a verify) over the recent reachable one', async () => {
    await client.info(recent);
    await dockerd.stop();
    expect((await client.info()).reachable).toBe(false);
    await dockerd.start();
    expect((await client.info(recent)).reachable).toBe(true);
    expect(dockerd.requests).toBe(2);
  });
});

describe('DockerodeClient.info against a dockerd that does not answer a version', () => {
  let dir: string;
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });
  const serve = async (status: number, body: string) => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-docker-client-'));
    const socketPath = join(dir, 'docker.sock');
    server = createServer((_req, res) => {
      res.statusCode = status;
      res.end(body);
    });
    await new Promise<void>((resolve) => server!.listen(socketPath, resolve));
    return new DockerodeClient(socketPath);
  };

  it("reports dockerd's own message when it answers with an error", async () => {
    const client = await serve(500, JSON.stringify({ message: 'Cannot connect to containerd\n' }));
    expect(await client.info()).toEqual({ reachable: false, error: 'Cannot connect to containerd' });
  });

  it('reports the status and body of an answer that is not a version', async () => {
    const client = await serve(200, '<html>a proxy</html>');
    expect(await client.info()).toEqual({
      reachable: false,
      error: 'dockerd answered /version with HTTP 200: <html>a proxy</html>',
    });
  });

  it('takes an answer sent in pieces', async () => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-docker-client-'));
    const socketPath = join(dir, 'docker.sock');
    server = createServer((_req, res) => {
      res.write('{"Version":"27.5.1",');
      setTimeout(() => res.end('"ApiVersion":"1.47"}'), 20);
    });
    await new Promise<void>((resolve) => server!.listen(socketPath, resolve));
    expect(await new DockerodeClient(socketPath).info()).toEqual({
      reachable: true,
      version: '27.5.1',
      apiVersion: '1.47',
    });
  });

  it('gives up on a dockerd that does not finish its answer in time', async () => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-docker-client-'));
    const socketPath = join(dir, 'docker.sock');
    server = createServer((_req, res) => res.write('{"Version":'));
    await new Promise<void>((resolve) => server!.listen(socketPath, resolve));
    const client = new DockerodeClient(socketPath, () => performance.now(), 200);
    expect(await client.info()).toEqual({
      reachable: false,
      error: 'dockerd did not answer /version within 0.2 s',
    });
    server.closeAllConnections();
  });

  it('reports a socket nobody listens on with the connect error', async () => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-docker-client-'));
    const client = new DockerodeClient(join(dir, 'absent.sock'));
    expect(await client.info()).toMatchObject({ reachable: false, error: expect.stringContaining('ENOENT') });
  });
});
