import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildArm64Image, startAgent, type AgentProcess } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentClient, type AgentClient } from './agent-client.ts';

// verify's container check goes through dockerd, whose containers use the machine's own binfmt_misc,
// not a sandbox's: this agent runs on the machine itself, registers qemu-aarch64 there through the
// API, and puts the machine back as it was.
const TOKEN = 'docker-token-0123456789abcdefghijklmnop';
const MOUNT = '/proc/sys/fs/binfmt_misc';
const ENTRY = `${MOUNT}/qemu-aarch64`;
const IMAGE = 'binfleet-test/arm64-busybox:latest';

describe('verify through the API runs an arm64 container on the real dockerd', () => {
  let dir: string;
  let agent: AgentProcess;
  let client: AgentClient;
  let mountedBefore: boolean;
  let entryBefore: boolean;

  beforeAll(async () => {
    mountedBefore = existsSync(`${MOUNT}/register`);
    entryBefore = existsSync(ENTRY);
    if (entryBefore && !/^enabled$/m.test(readFileSync(ENTRY, 'utf8'))) {
      throw new Error(
        `${ENTRY} exists but is disabled on this machine: enable or remove it before this test`,
      );
    }
    buildArm64Image(IMAGE);
    dir = await mkdtemp(join(tmpdir(), 'binfleet-agent-docker-'));
    agent = await startAgent(null, {
      stateDir: dir,
      args: ['--verify-image', 'binfleet-test/{debian}-busybox:latest', '--reconcile-interval', '1h'],
      env: { BINFLEET_AGENT_TOKEN: TOKEN },
    });
    client = createAgentClient(agent.url, TOKEN);
  });

  afterAll(async () => {
    if (client && !entryBefore) await client.remove.mutate({ targets: ['arm64'] });
    await agent?.stop();
    if (!mountedBefore && existsSync(`${MOUNT}/register`)) execFileSync('umount', [MOUNT]);
    execFileSync('docker', ['rmi', '-f', IMAGE], { stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true });
  });

  it('passes the container check with uname -m printing aarch64', async () => {
    if (!entryBefore) await client.applyState.mutate({ targets: ['arm64'], persistent: true });
    const facts = await client.facts.query();
    expect(facts.docker).toMatchObject({ reachable: true, version: expect.any(String) });
    expect(facts.binfmt).toMatchObject({ mounted: true, namespaced: false });

    const report = await client.verify.mutate({ targets: ['linux/arm64'], methods: ['container'] });
    expect(report.checks).toEqual([
      expect.objectContaining({
        target: 'aarch64',
        method: 'container',
        status: 'pass',
        output: 'aarch64',
        detail: `uname -m in ${IMAGE} (linux/arm64) printed aarch64`,
      }),
    ]);
    expect(report.passed).toBe(true);
  });
});
