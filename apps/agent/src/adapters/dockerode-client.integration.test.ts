import { execFileSync } from 'node:child_process';
import { machine } from 'node:os';
import { performance } from 'node:perf_hooks';
import { debianArchOf, dockerPlatformOf, resolveArch } from '@binfleet/arch-table';
import { fixtures, type DebianArch } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tarStream } from '../image-build/tar-stream.ts';
import { DockerodeClient } from './dockerode-client.ts';

// Runs against the real dockerd (scripts/test-deps.sh starts it) with an image of this machine's own
// architecture, so no binfmt_misc entry is involved.
const native = resolveArch(machine())[0]!;
const IMAGE = 'binfleet-test/native-busybox:docker-client';
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const containersOf = (image: string) => docker('ps', '-a', '-q', '--filter', `ancestor=${image}`);

describe('DockerodeClient against the real dockerd', () => {
  const client = new DockerodeClient();

  beforeAll(async () => {
    const info = await client.info();
    if (!info.reachable)
      throw new Error(`dockerd not reachable (${info.error}): run bash scripts/test-deps.sh as root`);
    docker(
      'import',
      '--platform',
      dockerPlatformOf(native)!,
      fixtures().rootfsTar(debianArchOf(native) as DebianArch),
      IMAGE,
    );
  });
  afterAll(() => {
    docker('rmi', '-f', IMAGE);
  });

  it('reports the engine version and API version', async () => {
    const info = await client.info();
    expect(info).toEqual({
      reachable: true,
      version: docker('version', '--format', '{{.Server.Version}}'),
      apiVersion: docker('version', '--format', '{{.Server.APIVersion}}'),
    });
  });

  it('runs a command once, with stdout and stderr apart and the exit code, and leaves no container', async () => {
    const started = performance.now();
    const result = await client.runOnce({
      image: IMAGE,
      platform: dockerPlatformOf(native),
      cmd: ['sh', '-c', 'uname -m; echo oops >&2; exit 3'],
      timeoutMs: 30_000,
    });
    console.info(`runOnce took ${(performance.now() - started).toFixed(0)} ms`);
    expect(result).toEqual({ exitCode: 3, stdout: `${machine()}\n`, stderr: 'oops\n', timedOut: false });
    expect(containersOf(IMAGE)).toBe('');
  });

  it('kills a container that runs past the timeout and still removes it', async () => {
    const started = performance.now();
    const result = await client.runOnce({
      image: IMAGE,
      cmd: ['/bin/busybox', 'sleep', '60'],
      timeoutMs: 1_000,
    });
    const elapsed = performance.now() - started;
    console.info(`timed-out runOnce returned after ${elapsed.toFixed(0)} ms`);
    expect(result.timedOut).toBe(true);
    expect(result).not.toHaveProperty('exitCode');
    expect(elapsed).toBeLessThan(15_000);
    expect(containersOf(IMAGE)).toBe('');
  });

  it('knows which images are present', async () => {
    expect(await client.hasImage(IMAGE)).toBe(true);
    expect(await client.hasImage('binfleet-test/never-built:none')).toBe(false);
  });

  it('says to pull a missing image, from the 404 status', async () => {
    const run = client.runOnce({
      image: 'binfleet-test/never-built:none',
      platform: 'linux/arm64',
      cmd: ['uname', '-m'],
      timeoutMs: 10_000,
    });
    await expect(run).rejects.toMatchObject({
      code: 'IMAGE_MISSING',
      message: expect.stringMatching(
        /docker pull --platform linux\/arm64 binfleet-test\/never-built:none, or set --verify-image/,
      ),
    });
  });

  it('refuses a build FROM an image that is not here before dockerd could pull it; builds FROM one that is', async () => {
    const context = (from: string) =>
      tarStream([{ type: 'file', name: 'Dockerfile', data: `FROM ${from}\nCMD ["/bin/busybox", "true"]\n` }]);
    const missing = 'binfleet-test/never-built:none';
    await expect(
      client.buildImage({
        context: context(missing),
        from: [IMAGE, missing],
        tags: ['binfleet-test/from-missing:x'],
      }),
    ).rejects.toMatchObject({
      code: 'IMAGE_MISSING',
      message: expect.stringMatching(
        /never-built:none is not on this host.*docker pull binfleet-test\/never-built:none/,
      ),
    });
    const built = 'binfleet-test/from-present:docker-client';
    try {
      const { id } = await client.buildImage({ context: context(IMAGE), from: [IMAGE], tags: [built] });
      expect((await client.inspectImage(built))?.id).toBe(id);
    } finally {
      await client.removeImage(built);
    }
  });

  it("reports a command the image does not have as a docker failure with dockerd's reason", async () => {
    const run = client.runOnce({ image: IMAGE, cmd: ['/no/such/program'], timeoutMs: 10_000 });
    await expect(run).rejects.toMatchObject({
      code: 'DOCKER_FAILED',
      message: expect.stringMatching(/no such file/i),
    });
    expect(containersOf(IMAGE)).toBe('');
  });
});

describe('DockerodeClient without dockerd', () => {
  const client = new DockerodeClient('/run/binfleet-test/no-docker.sock');

  it('reports dockerd as unreachable instead of throwing', async () => {
    const info = await client.info();
    expect(info.reachable).toBe(false);
    expect(info.error).toMatch(/ENOENT.*no-docker\.sock/);
  });

  it('tells to start dockerd when asked to run something', async () => {
    await expect(client.runOnce({ image: 'x', cmd: ['true'], timeoutMs: 1_000 })).rejects.toMatchObject({
      code: 'DOCKER_UNAVAILABLE',
      message: expect.stringMatching(/start dockerd or mount \/var\/run\/docker\.sock/),
    });
    await expect(client.hasImage('x')).rejects.toMatchObject({ code: 'DOCKER_UNAVAILABLE' });
  });
});
