import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '@binfleet/db';
import { describe, expect, it } from 'vitest';
import type { AgentConnection } from '../../agents/agent-gateway.ts';
import { AgentRelease } from '../agent-install/agent-release.ts';
import { AgentUpgrades } from './agent-upgrade.ts';

const release = () => {
  const dir = mkdtempSync(join(tmpdir(), 'binfleet-release-'));
  const tarball = {
    file: 'binfleet-agent-0.2.0-linux.tar.gz',
    kind: 'tarball',
    arch: 'all',
    sha256: 'a'.repeat(64),
    size: 10,
  };
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({ version: '0.2.0', contractVersion: 3, node: '>=18', artifacts: [tarball] }),
  );
  return new AgentRelease(dir);
};

/** An agent that records its calls; any call but upgradeAgent and status is a test failure. */
const recordingAgent = (calls: unknown[]) =>
  ({
    upgradeAgent: async (input: unknown) => {
      calls.push(input);
      return { status: 'current', version: '0.2.0', previousVersion: '0.2.0' };
    },
    status: async () => ({ binfmt: { entries: [] } }),
  }) as unknown as AgentConnection;

describe('AgentUpgrades', () => {
  /** The host's facts are read from the database as the upgrade starts (the runner's row has none). */
  const upgrades = (facts: { contractVersion: number }) =>
    new AgentUpgrades({ host: { findUniqueOrThrow: async () => ({ facts }) } } as unknown as Db, release(), {
      waitMs: 1000,
      pollMs: 10,
    });
  const host = { id: 'h1', hostname: 'edge-1', agentVersion: '0.1.0' };

  it('refuses an agent of contract 2 before calling it, saying what to do', async () => {
    const calls: unknown[] = [];
    await expect(
      upgrades({ contractVersion: 2 }).run(host, recordingAgent(calls), async () => {}),
    ).rejects.toMatchObject({
      code: 'AGENT_FAILED',
      message: expect.stringMatching(
        /^edge-1: this agent speaks contract version 2 and has no upgradeAgent .*run the install line/,
      ),
    });
    expect(calls).toEqual([]);
  });

  it('asks an agent of contract 3 for the served tarball by name, sha256, size and version', async () => {
    const calls: unknown[] = [];
    const outcome = await upgrades({ contractVersion: 3 }).run(host, recordingAgent(calls), async () => {});
    expect(calls).toEqual([
      { file: 'binfleet-agent-0.2.0-linux.tar.gz', sha256: 'a'.repeat(64), size: 10, version: '0.2.0' },
    ]);
    expect(outcome).toMatchObject({ ok: true, detail: { status: 'current', upgraded: false } });
  });
});
