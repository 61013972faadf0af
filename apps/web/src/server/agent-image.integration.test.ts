import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentReleaseManifestSchema, type AgentReleaseManifest } from '@binfleet/agent-contract';
import { ensureAgentRelease, freePort } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from './testing/fleet.ts';
import { until } from './testing/waiting.ts';

/**
 * The agent's container image as users get it (`pnpm agent:package --image`, then `docker load`),
 * run once as docs/agent.md says (CAP_SYS_ADMIN and apparmor=unconfined: dockerd here refuses
 * --privileged; --network host: it has no bridge), joins a control plane. The container shares
 * the machine's binfmt_misc: nothing is registered from it (a new agent has no desired state, and
 * this test asks for none).
 */
describe('the agent image', () => {
  const container = `binfleet-agent-image-test-${process.pid}`;
  let manifest: AgentReleaseManifest;
  let imageId: string;
  let fleet: Fleet;

  const docker = (...args: string[]) =>
    execFileSync('docker', args, { encoding: 'utf8', timeout: 300_000 }).trim();

  beforeAll(async () => {
    const dir = ensureAgentRelease({ image: true });
    manifest = agentReleaseManifestSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
    const image = join(dir, manifest.artifacts.find((a) => a.kind === 'image')!.file);
    docker('load', '--input', image);
    // By id, from the saved file itself: the tag may be loaded anew by another checkout meanwhile.
    const [saved] = JSON.parse(
      execFileSync('tar', ['-xOf', image, 'manifest.json'], { encoding: 'utf8' }),
    ) as {
      Config: string;
    }[];
    imageId = `sha256:${saved!.Config.replace(/\.json$/, '')}`;
    fleet = await startFleet({
      name: 'agent-image',
      agents: 0,
      heartbeatIntervalMs: 1000,
      env: { BINFLEET_AGENT_URL_ALLOW: '127.0.0.0/8' },
    });
  }, 900_000);

  afterAll(async () => {
    spawnSync('docker', ['rm', '--force', '--volumes', container]);
    await fleet?.stop();
  });

  it("runs with CAP_SYS_ADMIN and joins a control plane, reporting the image's agent version", async () => {
    const { token } = await fleet.joinToken();
    const port = await freePort();
    docker(
      'run',
      '--detach',
      '--name',
      container,
      '--cap-add',
      'SYS_ADMIN',
      '--security-opt',
      'apparmor=unconfined',
      '--network',
      'host',
      imageId,
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--server',
      fleet.url,
      '--join-token',
      token,
      '--reconcile-interval',
      '1h',
      '--heartbeat-interval',
      '1s',
    );
    expect(docker('exec', container, 'node', '--version')).toMatch(/^v18\./);

    const host = await until(
      'the container to join and report its version',
      async () => {
        const hosts = await fleet.db.host.findMany();
        const facts = hosts[0]?.facts as { agentVersion?: string } | undefined;
        return facts?.agentVersion ? hosts[0] : undefined;
      },
      120_000,
    ).catch((error: Error) => {
      throw new Error(
        `${error.message}\ncontainer log:\n${spawnSync('docker', ['logs', container], { encoding: 'utf8' }).stdout}`,
      );
    });
    expect(host.agentUrl).toBe(`http://127.0.0.1:${port}`);
    expect((host.facts as { agentVersion: string }).agentVersion).toBe(manifest.version);
    const online = await fleet.api.ok(
      fleet.api.query<string[]>('fleet.hostIds', { filter: { online: true } }),
    );
    expect(online).toEqual([host.id]);

    docker('stop', '--time', '10', container);
    expect(docker('inspect', '--format', '{{.State.ExitCode}}', container)).toBe('0');
  });

  it("starts the CLI's light commands from a code cache its own node made (Debian's, not the build's)", () => {
    expect(docker('run', '--rm', imageId, '--version')).toBe(manifest.version);
    // The bundle's entry as the launcher runs it in the image (no startup snapshot there), leaving
    // whether it took the cache (src/cli/code-cache.ts) where this can read it.
    const bin = '/opt/binfleet-agent/lib/dist/bin';
    const r = spawnSync(
      'docker',
      [
        'run',
        '--rm',
        '--entrypoint',
        '/usr/bin/node',
        imageId,
        '-e',
        `require('${bin}/binfleet-agent.cjs');
         process.on('exit', () => process.stderr.write('taken: ' + globalThis[Symbol.for('binfleet-agent.code-cache-taken')] + '\\n'));`,
        'binfleet-agent',
        'export',
        'aarch64',
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^:qemu-aarch64:M::/m);
    expect(r.stderr).toMatch(/^taken: true$/m);
    const node = docker('run', '--rm', '--entrypoint', '/usr/bin/node', imageId, '--version');
    const made = docker(
      'run',
      '--rm',
      '--entrypoint',
      '/bin/sh',
      imageId,
      '-c',
      `head -n 1 ${bin}/binfleet-agent-snapshot.cjs.code-cache`,
    );
    expect(made).toMatch(
      new RegExp(`^binfleet-agent code cache: node ${node.replaceAll('.', '\\.')} \\S+, \\d+ bytes$`),
    );
  });
});
