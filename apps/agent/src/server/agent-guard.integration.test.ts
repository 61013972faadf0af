import { mkdtemp, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRegisterLine, targetRegisterSpec } from '@binfleet/arch-table';
import {
  kernelSnapshot,
  startAgent,
  startSandbox,
  type AgentProcess,
  type Sandbox,
} from '@binfleet/test-sandbox';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAgentClient, type AgentClient } from './agent-client.ts';

// The same guard rails through the API (`binfleet-agent serve` in a private binfmt_misc), with the
// agent told it is an arm64 host: its own programs decide, not HOST_ARCH.
const TOKEN = 'guard-token-0123456789abcdefghijklmnop';

describe('binfleet-agent serve: guard rails through the API', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let agent: AgentProcess;
  let client: AgentClient;
  const kernel = () => kernelSnapshot(sandbox);
  const hostStillRuns = async () =>
    expect(await sandbox.exec('/bin/sh', ['-c', 'true'])).toMatchObject({ code: 0 });
  const refused = async (
    input: Parameters<AgentClient['applyState']['mutate']>[0],
    agentCode: string,
    message: RegExp,
  ) => {
    const before = kernel();
    const error = await client.applyState.mutate(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(error).toMatchObject({ data: { agentCode }, message });
    expect(kernel()).toEqual(before);
    await hostStillRuns();
  };

  beforeAll(async () => {
    sandbox = await startSandbox();
    stateDir = await mkdtemp(join(tmpdir(), 'binfleet-agent-guard-'));
    agent = await startAgent(sandbox, {
      stateDir,
      env: { BINFLEET_AGENT_TOKEN: TOKEN, HOST_ARCH: 'aarch64' },
    });
    client = createAgentClient(agent.url, TOKEN);
  });
  beforeEach(async () => {
    // From outside first: a forced native entry stops the host's programs in there (flock, the agent's lock, too).
    writeFileSync(`${sandbox.hostMountPoint}/status`, '-1');
    await client.remove.mutate({ all: true });
  });
  afterAll(async () => {
    await agent?.stop();
    await sandbox?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('refuses reset + register per the (wrong) host rules: x86_64 would take the host itself', async () => {
    await client.applyState.mutate({ targets: ['s390x'] });
    await refused(
      { reset: true, persistent: true },
      'NATIVE_TARGET',
      /qemu-x86_64 would take this host's own programs/,
    );
    expect(Object.keys(kernel())).toContain('qemu-s390x');
  });

  it('registers a native target only with forceNative, answering a warning and logging an audit line', async () => {
    const applied = await client.applyState.mutate({ targets: ['x86_64'], forceNative: true });
    expect(applied.warnings).toEqual([expect.stringMatching(/^--force-native: qemu-x86_64 would take/)]);
    expect(applied.desired.forceNative).toBe(true);
    const audit = await agent.waitForLog((l) => l.event === 'audit');
    expect(audit).toMatchObject({ action: 'force-native', target: 'x86_64', level: 'warn' });
    // What the rail is for: the host's own programs no longer start in there. The agent still takes
    // the entry back: its lock's helper (perl) started before the entry and stays while it runs.
    expect((await sandbox.exec('/bin/sh', ['-c', 'true'])).code).not.toBe(0);
    await client.remove.mutate({ all: true });
    await hostStillRuns();
  });

  it('refuses missing emulators without F unless allowMissing, which the answer warns about', async () => {
    const missing = { targets: ['arm64'], interpreterDir: '/opt/nothing' };
    await refused(missing, 'INTERPRETER_MISSING', /\/opt\/nothing\/qemu-aarch64-static/);
    const applied = await client.applyState.mutate({ ...missing, allowMissing: true });
    expect(applied.warnings).toEqual([expect.stringMatching(/^--allow-missing: /)]);
    expect(kernel()['qemu-aarch64']).toMatch(/^interpreter \/opt\/nothing\/qemu-aarch64-static$/m);
  });

  it('names an overlapping entry of another name and registers beside it only with force', async () => {
    writeFileSync(
      `${sandbox.hostMountPoint}/register`,
      encodeRegisterLine({
        ...targetRegisterSpec('aarch64', { interpreterDir: '/usr/bin' }),
        name: 'box-arm64',
        interpreter: '/usr/bin/true',
      }),
    );
    await refused({ targets: ['arm64'] }, 'ENTRY_OVERLAP', /overlaps the entry "box-arm64"/);
    const applied = await client.applyState.mutate({ targets: ['arm64'], force: true });
    expect(applied.warnings).toEqual([
      expect.stringMatching(/^--force: qemu-aarch64 overlaps the entry "box-arm64"/),
    ]);
  });

  it('answers the C warning with the entries it registered', async () => {
    const applied = await client.applyState.mutate({ targets: ['s390x'], credential: true });
    expect(applied.warnings).toEqual([expect.stringMatching(/^C \(credential\) is set: setuid/)]);
    expect(kernel()['qemu-s390x']).toMatch(/^flags: OC$/m);
    expect((await client.applyState.mutate({ targets: ['s390x'], force: true })).warnings).toEqual([]);
  });
});
