import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerLineOfEntryFile } from '@binfleet/arch-table';
import {
  buildArm64Image,
  MACHINE_BINFMT,
  machineEntryUsable,
  setAsideMachineEntry,
  startAgent,
  type AgentProcess,
} from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentClient, type AgentClient } from './agent-client.ts';

// verify's container check goes through dockerd, whose containers use the machine's own binfmt_misc,
// not a sandbox's: this agent runs on the machine itself, registers qemu-aarch64 there through the
// API (with F) unless the machine has it with F already, and puts the machine back as it was.
const TOKEN = 'docker-token-0123456789abcdefghijklmnop';
const MOUNT = MACHINE_BINFMT;
const IMAGE = 'binfleet-test/arm64-busybox:latest';

describe('verify through the API runs an arm64 container on the real dockerd', () => {
  let dir: string;
  let agent: AgentProcess;
  let client: AgentClient;
  let mountedBefore: boolean;
  /** The machine's own qemu-aarch64 with F, used as it is; otherwise the test registers its own. */
  let entryBefore: boolean;
  /** The machine's qemu-aarch64 when containers cannot use it (none, no F, off): put back at the end. */
  let aside: { putBack(): void } | undefined;

  beforeAll(async () => {
    mountedBefore = existsSync(`${MOUNT}/register`);
    entryBefore = mountedBefore && machineEntryUsable('qemu-aarch64');
    // Not usable as it is: whatever holds the name is set aside (none: the name is freed at the end).
    if (!entryBefore)
      aside = setAsideMachineEntry('qemu-aarch64', {
        ofEntryFile: registerLineOfEntryFile,
      });
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
    try {
      if (client && !entryBefore) await client.remove.mutate({ targets: ['arm64'] });
      await agent?.stop();
    } finally {
      // The machine put back whatever failed above.
      aside?.putBack();
      if (!mountedBefore && existsSync(`${MOUNT}/register`)) execFileSync('umount', [MOUNT]);
    }
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
