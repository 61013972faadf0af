import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { matchTargets, PROVENANCE_LABELS } from '@binfleet/arch-table';
import { agentBundle, buildArm64Image, fixtures } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `binfleet-agent build` as CI runs it, for real: Debian's qemu-user-static packages of three host
// architectures (amd64, arm64, armhf) with their busyboxes, assembled and checked on this amd64
// builder (its own images through dockerd, the others under emulation in a throwaway binfmt_misc),
// pushed through the registry API, then read back from the registry and pulled by the real dockerd.
const REGISTRY = process.env.BINFLEET_REGISTRY ?? '127.0.0.1:5000';
const UNIQUE = Date.now().toString(36);
const REPOSITORY = `binfleet-test/multiarch-${UNIQUE}`;
const TEST_IMAGE_TEMPLATE = `binfleet-test/build-cli-${UNIQUE}-{debian}-busybox:latest`;
const TEST_IMAGE = TEST_IMAGE_TEMPLATE.replace('{debian}', 'arm64');
const OCI_TYPES = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const run = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function agentBuild(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, [agentBundle(), 'build', ...args], {
      env: {
        ...process.env,
        BINFLEET_BUSYBOX: fixtures().busybox('amd64'),
        BINFLEET_VERIFY_IMAGE: TEST_IMAGE_TEMPLATE,
        ...env,
      },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 600_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

interface Summary {
  status: string;
  version: string;
  checks: { name: string; status: string; detail: string }[];
  packages: { architecture: string; sha256: string }[];
  tags: { tag: string; digest: string; platform: string; form: 'index' | 'single' }[];
}

interface Descriptor {
  mediaType: string;
  digest: string;
  platform?: { os: string; architecture: string; variant?: string };
}
interface Document {
  mediaType: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
  annotations?: Record<string, string>;
}

const registry = (path: string, init?: RequestInit) =>
  fetch(`http://${REGISTRY}/v2/${REPOSITORY}/${path}`, init);
async function document(
  reference: string,
): Promise<{ status: number; doc: Document; digest: string | null }> {
  const response = await registry(`manifests/${reference}`, { headers: { accept: OCI_TYPES } });
  return {
    status: response.status,
    doc: response.ok ? ((await response.json()) as Document) : ({} as Document),
    digest: response.headers.get('docker-content-digest'),
  };
}
const platformOf = (d: Descriptor) =>
  [d.platform!.os, d.platform!.architecture, d.platform!.variant].filter(Boolean).join('/');

describe('binfleet-agent build: three host architectures from one amd64 builder', () => {
  let outcome: Outcome;
  let summary: Summary;
  const pushedDigests = new Set<string>();

  beforeAll(async () => {
    buildArm64Image(TEST_IMAGE);
    const f = fixtures();
    outcome = await agentBuild([
      '--package',
      f.qemuDebOf('armhf'),
      '--package',
      f.qemuDebOf('amd64'),
      '--package',
      f.qemuDebOf('arm64'),
      // One busybox as a binary, one as Debian's package; amd64's is the agent's own (BINFLEET_BUSYBOX).
      '--busybox',
      f.busybox('arm64'),
      '--busybox',
      f.busyboxDeb('armhf'),
      '--push',
      `${REGISTRY}/${REPOSITORY}`,
      '--json',
    ]);
    summary = JSON.parse(outcome.stdout || '{}') as Summary;
  }, 900_000);

  afterAll(async () => {
    execFileSync('docker', ['rmi', '-f', TEST_IMAGE, `${REGISTRY}/${REPOSITORY}:register`], {
      stdio: 'ignore',
    });
    for (const digest of pushedDigests) {
      await registry(`manifests/${digest}`, { method: 'DELETE' }).catch(() => undefined);
    }
  });

  it('succeeds, with progress on stderr and a JSON summary on stdout', () => {
    expect(outcome.code, outcome.stderr.slice(-2000)).toBe(0);
    expect(summary.status).toBe('succeeded');
    expect(outcome.stderr).toContain('==> push');
    expect(summary.packages.map((p) => p.architecture)).toEqual(['amd64', 'arm64', 'armhf']);
  });

  it('ran the seed checks natively for amd64 and under emulation for arm64 and armhf', () => {
    expect(summary.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    const names = summary.checks.map((c) => c.name);
    expect(names).toContainEqual(
      expect.stringMatching(/:register --reset registers qemu-aarch64 without flags$/),
    );
    for (const [debian, cpu] of [
      ['arm64', 'aarch64'],
      ['armhf', 'arm'],
    ]) {
      expect(names).toContain(`${debian}: :register --reset registers the ${cpu} host's entries (emulated)`);
      expect(names).toContainEqual(
        expect.stringMatching(new RegExp(`^${debian}: each of \\d+ emulators answers -version`)),
      );
    }
  });

  it('pushed indexes with the right platforms, variants included, and single-platform pair tags', async () => {
    const platforms = async (tag: string) => {
      const { status, doc } = await document(tag);
      expect(status, tag).toBe(200);
      expect(doc.mediaType, tag).toBe(INDEX);
      return doc.manifests!.map(platformOf);
    };
    const everyHost = ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7'];
    expect(await platforms('latest')).toEqual(everyHost);
    expect(await platforms(summary.version)).toEqual(everyHost);
    expect(await platforms('register')).toEqual(everyHost);
    // $to: every host that emulates it, never one of its own family (arm64 and armhf are both arm).
    expect(await platforms('aarch64')).toEqual(['linux/amd64']);
    expect(await platforms(`arm-${summary.version}`)).toEqual(['linux/amd64']);
    expect(await platforms('x86_64')).toEqual(['linux/arm64/v8', 'linux/arm/v7']);
    expect(await platforms('riscv64')).toEqual(everyHost);
    expect(await platforms('i386')).toEqual(['linux/arm64/v8', 'linux/arm/v7']);

    for (const [tag, architecture, variant] of [
      ['aarch64-x86_64', 'arm64', 'v8'],
      [`arm-riscv64-${summary.version}`, 'arm', 'v7'],
      ['x86_64-aarch64', 'amd64', undefined],
    ] as const) {
      const { doc } = await document(tag);
      expect(doc.mediaType, tag).toBe(MANIFEST);
      expect(doc.layers, tag).toHaveLength(1);
      const config = (await (await registry(`blobs/${doc.config!.digest}`)).json()) as {
        architecture: string;
        variant?: string;
      };
      expect({ architecture: config.architecture, variant: config.variant }, tag).toEqual({
        architecture,
        variant,
      });
    }
    expect(summary.tags.find((t) => t.tag === 'aarch64-x86_64')).toMatchObject({
      form: 'single',
      platform: 'linux/arm64/v8',
    });
    expect(summary.tags.find((t) => t.tag === 'register')).toMatchObject({
      form: 'index',
      platform: 'linux/amd64,linux/arm64/v8,linux/arm/v7',
    });
  });

  it('annotated every manifest and index, and every digest resolves', async () => {
    const required = [
      PROVENANCE_LABELS.buildId,
      PROVENANCE_LABELS.qemuVersion,
      PROVENANCE_LABELS.packageName,
      PROVENANCE_LABELS.packageVersion,
      PROVENANCE_LABELS.packageSha256,
    ];
    const seen = new Set<string>();
    const walk = async (reference: string, what: string): Promise<void> => {
      if (seen.has(reference)) return;
      seen.add(reference);
      const { status, doc, digest } = await document(reference);
      expect(status, what).toBe(200);
      pushedDigests.add(digest!);
      for (const key of required) expect(doc.annotations?.[key], `${what}: ${key}`).toBeTruthy();
      for (const child of doc.manifests ?? []) await walk(child.digest, `${what} -> ${platformOf(child)}`);
      for (const blob of [doc.config, ...(doc.layers ?? [])].filter((b) => b !== undefined)) {
        if (seen.has(blob.digest)) continue;
        seen.add(blob.digest);
        expect(
          (await registry(`blobs/${blob.digest}`, { method: 'HEAD' })).status,
          `${what}: ${blob.digest}`,
        ).toBe(200);
      }
    };
    const list = (await (await registry('tags/list')).json()) as { tags: string[] };
    expect([...list.tags].sort()).toEqual(summary.tags.map((t) => t.tag).sort());
    for (const tag of summary.tags) {
      const { digest } = await document(tag.tag);
      expect(digest, tag.tag).toBe(tag.digest);
      await walk(tag.digest, tag.tag);
    }
    const arm64Package = summary.packages.find((p) => p.architecture === 'arm64')!;
    const pair = await document('aarch64-x86_64');
    expect(pair.doc.annotations![PROVENANCE_LABELS.packageSha256]).toBe(arm64Package.sha256);
  });

  it('docker pull --platform linux/arm64 of :register gets the arm64 image with an aarch64 busybox', async () => {
    const reference = `${REGISTRY}/${REPOSITORY}:register`;
    execFileSync('docker', ['pull', '--platform', 'linux/arm64', reference], { stdio: 'pipe' });
    const [architecture, variant] = execFileSync(
      'docker',
      ['image', 'inspect', reference, '--format', '{{.Architecture}} {{.Variant}}'],
      { encoding: 'utf8' },
    )
      .trim()
      .split(' ');
    expect({ architecture, variant }).toEqual({ architecture: 'arm64', variant: 'v8' });
    const container = execFileSync('docker', ['create', '--platform', 'linux/arm64', reference], {
      encoding: 'utf8',
    }).trim();
    const dir = await mkdtemp(join(tmpdir(), 'pulled-busybox-'));
    try {
      execFileSync('docker', ['cp', '-L', `${container}:/bin/busybox`, join(dir, 'busybox')]);
      expect(matchTargets(await readFile(join(dir, 'busybox')))).toContain('aarch64');
    } finally {
      execFileSync('docker', ['rm', '-f', container], { stdio: 'ignore' });
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('binfleet-agent build: bad input', () => {
  let dir: string;
  let liar: string;
  let small: string;
  let refusing: Server;
  let refusingAt: string;

  /** A qemu-user-static .deb around one emulator file, with whatever Architecture it claims. */
  async function makeDeb(name: string, architecture: string): Promise<string> {
    const root = join(dir, name);
    await mkdir(join(root, 'DEBIAN'), { recursive: true });
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await copyFile(join(fixtures().busyboxDir, 'amd64/busybox'), join(root, 'usr/bin/qemu-aarch64-static'));
    await writeFile(
      join(root, 'DEBIAN/control'),
      `Package: qemu-user-static\nVersion: 1:7.2+test-1\nArchitecture: ${architecture}\nMaintainer: t <t@example.com>\nDescription: test\n`,
    );
    const deb = join(dir, `${name}.deb`);
    execFileSync('dpkg-deb', ['-Znone', '--root-owner-group', '--build', root, deb], { stdio: 'pipe' });
    return deb;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'build-bad-input-'));
    // Says arm64, holds an x86-64 executable.
    liar = await makeDeb('liar', 'arm64');
    small = await makeDeb('small', 'amd64');
    // A registry that takes blobs and manifests but no image index, as some older ones do.
    refusing = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const url = request.url ?? '';
        if (request.method === 'HEAD') response.writeHead(404).end();
        else if (request.method === 'POST')
          response.writeHead(202, { location: '/v2/x/blobs/uploads/1' }).end();
        else if (url.includes('/blobs/uploads/')) response.writeHead(201).end();
        else if (request.headers['content-type'] === INDEX) {
          response
            .writeHead(400, { 'content-type': 'application/json' })
            .end(JSON.stringify({ errors: [{ code: 'MANIFEST_INVALID', message: 'manifest invalid' }] }));
        } else {
          const digest = `sha256:${createHash('sha256').update(Buffer.concat(chunks)).digest('hex')}`;
          response.writeHead(201, { 'docker-content-digest': digest }).end();
        }
      });
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    refusingAt = `127.0.0.1:${(refusing.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => refusing?.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const push = ['--push', `${REGISTRY}/binfleet-test/never-${UNIQUE}`, '--no-checks'];

  it('refuses a package whose architecture does not match its claim, naming the step', async () => {
    const { code, stderr } = await agentBuild([
      '--package',
      liar,
      '--busybox',
      fixtures().busybox('arm64'),
      ...push,
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /failed at step "extract": .*liar\.deb says Architecture: arm64, but its emulators are x86_64 ELF executables/,
    );
  });

  it('refuses two packages of one architecture', async () => {
    const { code, stderr } = await agentBuild(['--package', small, '--package', small, ...push]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/failed at step "read package": .*small\.deb and .*small\.deb are both for amd64/);
  });

  it('refuses a busybox of the wrong architecture', async () => {
    const { code, stderr } = await agentBuild([
      '--package',
      small,
      '--busybox',
      fixtures().busybox('s390x'),
      ...push,
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /failed at step "read package": The busybox .* is a s390x executable, but the packages are for amd64/,
    );
  });

  it('says so when the registry refuses image indexes', async () => {
    const { code, stdout, stderr } = await agentBuild([
      '--package',
      small,
      '--push',
      `${refusingAt}/binfleet-test/refusing`,
      '--no-checks',
      '--json',
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /failed at step "push": .*refused the OCI image index .*MANIFEST_INVALID.*does not accept multi-platform images/,
    );
    expect(JSON.parse(stdout)).toMatchObject({ status: 'failed', failedStep: 'push' });
  });

  it('takes registry credentials from the environment only, never from arguments', async () => {
    const { code, stderr } = await agentBuild(['--package', small, '--password', 'x', ...push]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/Unknown option '--password'/);
    const half = await agentBuild(['--package', small, ...push], { BINFLEET_REGISTRY_USERNAME: 'ci' });
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/Give both BINFLEET_REGISTRY_USERNAME and BINFLEET_REGISTRY_PASSWORD/);
  });
});
