import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { buildArm64Image, fixtures, startAgent, type AgentProcess } from '@binfleet/test-sandbox';
import { serveArgs } from './sandbox-fleet.ts';
import { agentPidFile, type StackInfo } from './stack.ts';

/**
 * A builder host: an agent on this machine itself, not in a sandbox, because builds need the real
 * dockerd, whose containers use the machine's own binfmt_misc (the build's seed checks change it and
 * restore it). It reports the machine's hostname. It also owns the linux/arm64 test image the
 * build's container checks run, made for this run only and removed with the agent.
 */
export class BuilderHost {
  readonly hostname = hostname();
  /** A tiny linux/arm64 busybox image in the local dockerd, named for this run. */
  readonly testImage: string;
  private agent: AgentProcess | undefined;
  private imageBuilt = false;

  constructor(
    private readonly stack: StackInfo,
    run: string,
  ) {
    this.testImage = `binfleet-e2e/arm64-busybox:${run}`;
  }

  /**
   * Runs the join command as the page shows it, with what a test builder adds: a fast heartbeat, no
   * reconcile while the test runs, and Debian's amd64 busybox-static for the register images.
   */
  async join(commandLine: string): Promise<void> {
    if (this.agent) throw new Error('the builder agent runs already');
    buildArm64Image(this.testImage);
    this.imageBuilt = true;
    this.agent = await startAgent(null, {
      stateDir: mkdtempSync(join(this.stack.dir, 'agent-builder-')),
      args: [
        ...serveArgs(commandLine),
        '--heartbeat-interval',
        '1s',
        '--reconcile-interval',
        '1h',
        '--busybox',
        fixtures().busybox('amd64'),
      ],
    });
    // Should this worker die before stop(), global teardown kills it from this list.
    appendFileSync(agentPidFile(this.stack), `${this.agent.pid}\n`);
    await this.agent.waitForLog((l) => l.event === 'joined', 30_000);
  }

  /** Stops the agent and removes the test image; safe to call when either never started. */
  async stop(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    await agent?.stop();
    if (this.imageBuilt) {
      execFileSync('docker', ['rmi', '-f', this.testImage], { stdio: 'ignore' });
      this.imageBuilt = false;
    }
  }
}

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** The digest a Docker Registry v2 gives for a tag, from its own API (HEAD on the manifest). */
export async function registryDigest(registry: string, repository: string, tag: string): Promise<string> {
  const response = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: MANIFEST_TYPES },
  });
  const digest = response.headers.get('docker-content-digest');
  if (!response.ok || !digest) {
    throw new Error(`HEAD ${repository}:${tag} on ${registry} answered ${response.status}`);
  }
  return digest;
}

/**
 * Deletes every manifest of a repository this run pushed (the registry keeps the repository's name
 * only). Best effort: a registry without deletes enabled keeps them, under a name no other run uses.
 */
export async function deleteRepositoryManifests(registry: string, repository: string): Promise<void> {
  const list = await fetch(`http://${registry}/v2/${repository}/tags/list`).catch(() => undefined);
  if (!list?.ok) return;
  const { tags } = (await list.json()) as { tags: string[] | null };
  const digests = new Set<string>();
  for (const tag of tags ?? []) {
    digests.add(await registryDigest(registry, repository, tag).catch(() => ''));
  }
  digests.delete('');
  for (const digest of digests) {
    await fetch(`http://${registry}/v2/${repository}/manifests/${digest}`, { method: 'DELETE' }).catch(
      () => undefined,
    );
  }
}
