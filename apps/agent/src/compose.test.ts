import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DockerClient, ImageClient } from './adapters/docker-client.ts';
import { FileStateStore } from './adapters/file-state-store.ts';
import type { HostLock } from './adapters/host-lock.ts';
import { composeAgent, ListenError, type AgentAdapters, type AgentSettings } from './compose.ts';
import { createAgentClient } from './server/agent-client.ts';
import { hashToken } from './server/bearer-auth.ts';
import { DiskPackageStore } from '@binfleet/deb';
import { AgentPackageStore } from './adapters/agent-package-store.ts';
import type { LogRecord } from './services/reconciler.ts';
import { FakeHostOs } from './testing/fake-host-os.ts';
import { MemoryBinfmtFs } from './testing/memory-binfmt-fs.ts';

const TOKEN = 'compose-test-token-0123456789abcdef';

const SETTINGS: AgentSettings = {
  listen: { host: '127.0.0.1', port: 0 },
  reconcileIntervalMs: 60_000,
  lockWaitMs: 1000,
  interpreterDir: '/usr/bin',
  imageTemplate: '{official}/busybox',
  busybox: '/bin/busybox',
};

const noDocker: DockerClient & ImageClient = {
  info: async () => ({ reachable: false, error: 'connect ENOENT /nowhere.sock' }),
  runOnce: () => Promise.reject(new Error('no dockerd in unit tests')),
  hasImage: async () => false,
  buildImage: () => Promise.reject(new Error('no dockerd in unit tests')),
  loadImage: () => Promise.reject(new Error('no dockerd in unit tests')),
  removeImage: async () => false,
  inspectImage: async () => undefined,
};

/** Records who holds it; one process, so no one else ever does. */
class RecordingHostLock implements HostLock {
  readonly taken: string[] = [];
  closed = false;
  async acquire(label: string) {
    this.taken.push(label);
    return async () => undefined;
  }
  async close() {
    this.closed = true;
  }
}

describe('composeAgent', () => {
  let dir: string;
  let adapters: AgentAdapters & { binfmt: MemoryBinfmtFs; hostLock: RecordingHostLock };
  const logs: LogRecord[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-compose-'));
    const os = new FakeHostOs({ machine: 'x86_64' });
    os.files.set('/usr/bin/qemu-aarch64-static', { content: 'qemu', mode: 0o755 });
    adapters = {
      binfmt: new MemoryBinfmtFs(),
      machineBinfmt: new MemoryBinfmtFs(),
      os,
      docker: noDocker,
      hostLock: new RecordingHostLock(),
      store: new FileStateStore(join(dir, 'state')),
      packages: new AgentPackageStore(new DiskPackageStore(join(dir, 'state', 'packages'), 1024)),
    };
    logs.length = 0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const compose = (settings: AgentSettings = SETTINGS) =>
    composeAgent(settings, adapters, {
      version: '9.9.9',
      tokenHashes: { hash: hashToken(TOKEN) },
      log: (r) => logs.push(r),
    });

  it('serves the API over the adapters it is given, and stops cleanly', async () => {
    const agent = await compose();
    const url = (await agent.start()).url!;
    expect(logs).toContainEqual(expect.objectContaining({ event: 'listening', url, version: '9.9.9' }));
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true, version: '9.9.9' });

    const client = createAgentClient(url, TOKEN);
    const applied = await client.applyState.mutate({ targets: ['arm64'], persistent: true });
    expect(applied.changed).toBe(true);
    expect([...adapters.binfmt.entries.keys()]).toEqual(['qemu-aarch64']);
    expect(adapters.hostLock.taken).toContain('apply');
    const kept = JSON.parse(await readFile(join(dir, 'state', 'desired-state.json'), 'utf8')) as {
      state: { targets: string[] };
    };
    expect(kept.state.targets).toEqual(['aarch64']);
    const status = await client.status.query();
    expect(status).toMatchObject({ binfmt: { mountPoint: '/memory/binfmt_misc' }, drift: [] });
    expect(status.reconciler.intervalMs).toBe(60_000);
    expect(await client.facts.query()).toMatchObject({ agentVersion: '9.9.9', hostname: 'fake-host' });

    await agent.stop();
    expect(adapters.hostLock.closed).toBe(true);
    expect(agent.server!.listening).toBe(false);
  });

  it('refuses the wrong token before any procedure runs', async () => {
    const agent = await compose();
    const url = (await agent.start()).url!;
    await expect(createAgentClient(url, `${TOKEN}x`).status.query()).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED' },
    });
    await agent.stop();
  });

  it('rejects with a ListenError naming the address when it cannot listen there', async () => {
    const first = await compose();
    const url = (await first.start()).url!;
    const port = Number(new URL(url).port);
    const second = await compose({ ...SETTINGS, listen: { host: '127.0.0.1', port } });
    const error = await second.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ListenError);
    expect((error as Error).message).toMatch(new RegExp(`^127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    await first.stop();
  });
});
