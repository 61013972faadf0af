import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildReport } from '@binfleet/agent-contract';
import { makeTagSet, PROVENANCE_LABELS, tagVersionOf, type TargetId } from '@binfleet/arch-table';
import {
  buildArm64Image,
  fixtures,
  machineBinfmtState,
  startAgent,
  type AgentProcess,
  type MachineBinfmtState,
} from '@binfleet/test-sandbox';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentClient, type AgentClient } from '../server/agent-client.ts';

// The seed's release pipeline for real, as the dashboard drives it: Debian's qemu-user-static .deb,
// assembled into every tag of the scheme by a builder agent through its API, checked the seed's way
// through the real dockerd (which changes the machine's own binfmt_misc, put back afterwards), pushed
// to the real registry through its API, and then found there with the digests the build reported.
// (The multi-architecture build is cli/build-command.integration.test.ts.)
const REGISTRY = process.env.BINFLEET_REGISTRY ?? '127.0.0.1:5000';
const REPOSITORY = `binfleet-test/qemu-user-static-${Date.now().toString(36)}`;
const TEST_IMAGE = 'binfleet-test/arm64-busybox:latest';
const TOKEN = 'build-token-0123456789abcdefghijklmnopq';
const OCI_TYPES = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json';

const registry = (path: string, init?: RequestInit) => fetch(`http://${REGISTRY}/v2/${path}`, init);

describe('image build from the real qemu-user-static .deb, pushed to the real registry', () => {
  let dir: string;
  let agent: AgentProcess;
  let client: AgentClient;
  let before: MachineBinfmtState;
  let report: BuildReport;
  let liveLog = '';
  const deb = fixtures().qemuDeb;

  beforeAll(async () => {
    buildArm64Image(TEST_IMAGE);
    before = machineBinfmtState();
    dir = await mkdtemp(join(tmpdir(), 'binfleet-build-'));
    agent = await startAgent(null, {
      stateDir: dir,
      args: [
        '--busybox',
        fixtures().busybox('amd64'),
        '--verify-image',
        'binfleet-test/{debian}-busybox:latest',
        '--reconcile-interval',
        '1h',
      ],
      env: { BINFLEET_AGENT_TOKEN: TOKEN },
    });
    client = createAgentClient(agent.url, TOKEN);

    const started = await client.build.mutate({
      packagePath: deb,
      registry: REGISTRY,
      repository: REPOSITORY,
    });
    expect(started.status).toBe('running');
    // One build at a time: a second one is refused while the first runs.
    const second = await client.build
      .mutate({ packagePath: deb, registry: REGISTRY, repository: REPOSITORY })
      .catch((error: unknown) => error);
    expect(second).toBeInstanceOf(TRPCClientError);
    expect((second as TRPCClientError<never>).data).toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      agentCode: 'BUSY',
    });

    // Follow the live log the way the control plane does, until the build ends.
    let from = 0;
    for (;;) {
      const chunk = await client.buildLog.query({ id: started.id, from });
      liveLog += chunk.text;
      from = chunk.next;
      if (chunk.status !== 'running' && chunk.status !== 'queued') break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    report = await client.buildStatus.query({ id: started.id });
    console.info(
      `build ${report.status} in ${report.steps.reduce((sum, s) => sum + (s.durationMs ?? 0), 0)} ms: ` +
        report.steps.map((s) => `${s.name} ${s.durationMs} ms`).join(', '),
    );
  }, 900_000);

  afterAll(async () => {
    await agent?.stop();
    // Leave no tags behind: the next run pushes under another name anyway.
    for (const tag of report?.tags ?? []) {
      if (!tag.digest) continue;
      // An index's entries are manifests of their own: delete them too.
      const index = (await registry(`${REPOSITORY}/manifests/${tag.digest}`, {
        headers: { accept: OCI_TYPES },
      })
        .then((r) => r.json())
        .catch(() => ({}))) as { manifests?: { digest: string }[] };
      for (const digest of [...(index.manifests ?? []).map((m) => m.digest), tag.digest]) {
        await registry(`${REPOSITORY}/manifests/${digest}`, { method: 'DELETE' }).catch(() => undefined);
      }
    }
    execFileSync('docker', ['rmi', '-f', TEST_IMAGE], { stdio: 'ignore' });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('succeeds through every step, with the package recorded', () => {
    expect(report.error).toBeUndefined();
    expect(report.status).toBe('succeeded');
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ['read package', 'succeeded'],
      ['extract', 'succeeded'],
      ['build register images', 'succeeded'],
      ['build emulator images', 'succeeded'],
      ['test', 'succeeded'],
      ['push', 'succeeded'],
      ['clean up', 'succeeded'],
    ]);
    const control = execFileSync('dpkg-deb', ['-f', deb, 'Version', 'Architecture'], { encoding: 'utf8' });
    expect(report.package).toMatchObject({
      name: 'qemu-user-static',
      version: /^Version: (.*)$/m.exec(control)![1],
      architecture: 'amd64',
      fromArch: 'x86_64',
      sha256: createHash('sha256').update(readFileSync(deb)).digest('hex'),
      qemuVersion: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    expect(report.package!.emulators).toContain('qemu-aarch64-static');
    expect(liveLog).toContain('==> push');
    expect(liveLog).toContain('PASS');
  });

  it('passed the seed checks and put the machine binfmt_misc back as it was', () => {
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      [`:x86_64-aarch64-${report.version} runs qemu-aarch64-static --version`, 'pass'],
      [`:${report.version} --reset -p yes registers qemu-aarch64 with F`, 'pass'],
      ['a linux/arm64 container prints its uname -m', 'pass'],
      [':register --reset registers qemu-aarch64 without flags', 'pass'],
      [`the integration image (${TEST_IMAGE} with qemu-aarch64-static) runs`, 'pass'],
    ]);
    expect(report.checks[1]!.output).toBe('flags: F');
    expect(report.checks[2]!.output).toBe('aarch64');
    expect(report.checks[3]!.output).toBe('flags: ');
    expect(report.checks[4]!.output).toBe('aarch64');
    expect(machineBinfmtState()).toEqual(before);
  });

  it('pushed every tag of the scheme, found through the registry API with the reported digests', async () => {
    const version = tagVersionOf(report.package!.version);
    const expected = makeTagSet({
      version,
      hosts: [{ debianArch: 'amd64', targets: report.package!.targets as TargetId[] }],
    }).map((t) => t.tag);
    expect(expected).toContain(`x86_64-aarch64-${version}`);
    expect(report.tags.map((t) => t.tag).sort()).toEqual([...expected].sort());

    const list = (await (await registry(`${REPOSITORY}/tags/list`)).json()) as { tags: string[] };
    expect([...list.tags].sort()).toEqual([...expected].sort());
    for (const tag of report.tags) {
      const response = await registry(`${REPOSITORY}/manifests/${tag.tag}`, {
        headers: { accept: OCI_TYPES },
      });
      expect(response.status, tag.tag).toBe(200);
      expect(response.headers.get('docker-content-digest'), tag.tag).toBe(tag.digest);
    }
  });

  it('made the images the scheme says: indexes, platform, provenance, one emulator layer per pair image', async () => {
    const manifest = async (reference: string) =>
      (await (
        await registry(`${REPOSITORY}/manifests/${reference}`, { headers: { accept: OCI_TYPES } })
      ).json()) as {
        mediaType: string;
        config: { digest: string };
        layers: { size: number }[];
        manifests: { digest: string; platform: { architecture: string } }[];
        annotations: Record<string, string>;
      };
    const config = async (digest: string) =>
      (await (await registry(`${REPOSITORY}/blobs/${digest}`)).json()) as {
        architecture: string;
        os: string;
        config: { Labels: Record<string, string>; Entrypoint?: string[] };
      };
    const pair = await manifest(`x86_64-aarch64-${report.version}`);
    expect(pair.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(pair.annotations[PROVENANCE_LABELS.packageSha256]).toBe(report.package!.sha256);
    const pairConfig = await config(pair.config.digest);
    expect(pairConfig).toMatchObject({ architecture: 'amd64', os: 'linux' });
    expect(pairConfig.config.Labels).toMatchObject({
      [PROVENANCE_LABELS.buildId]: report.id,
      [PROVENANCE_LABELS.packageSha256]: report.package!.sha256,
      [PROVENANCE_LABELS.qemuVersion]: report.package!.qemuVersion,
    });
    expect(pair.layers).toHaveLength(1);
    const register = await manifest('register');
    expect(register.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(register.manifests.map((m) => m.platform.architecture)).toEqual(['amd64']);
    const registerImage = await manifest(register.manifests[0]!.digest);
    expect((await config(registerImage.config.digest)).config.Entrypoint).toEqual(['/register']);
    const latest = await manifest('latest');
    const full = await manifest(latest.manifests[0]!.digest);
    expect(full.layers.length).toBe(registerImage.layers.length + report.package!.emulators.length);
    // Nothing of the build stays in the local dockerd.
    const local = execFileSync('docker', ['images', '-q', `${REGISTRY}/${REPOSITORY}`], { encoding: 'utf8' });
    expect(local.trim()).toBe('');
  });
});
