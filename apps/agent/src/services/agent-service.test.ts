import { describe, expect, it, vi } from 'vitest';
import { CONTRACT_VERSION, type DesiredState } from '@binfleet/agent-contract';
import type { DockerClient, InfoOptions } from '../adapters/docker-client.ts';
import { AgentError } from '../errors.ts';
import { HostProbe } from '../host/host-probe.ts';
import { FakeHostOs, hostWithEmulators } from '../testing/fake-host-os.ts';
import { MemoryBinfmtFs } from '../testing/memory-binfmt-fs.ts';
import { AgentService, DOCKER_INFO_MAX_AGE_MS } from './agent-service.ts';
import { OperationLock } from './operation-lock.ts';
import { RegistrationService } from './registration-service.ts';

function setup(os = new FakeHostOs()) {
  const fs = new MemoryBinfmtFs();
  const store = {
    desired: undefined as DesiredState | undefined,
    writes: 0,
    readDesired: async () => store.desired,
    writeDesired: async (state: DesiredState) => {
      store.writes++;
      store.desired = state;
    },
  };
  const lock = new OperationLock();
  const dockerCalls: (InfoOptions | undefined)[] = [];
  const docker: DockerClient = {
    info: async (options) => {
      dockerCalls.push(options);
      return { reachable: false, error: 'connect ENOENT /var/run/docker.sock' };
    },
    runOnce: async () => Promise.reject(new Error('not in unit tests')),
    hasImage: async () => false,
  };
  const verified: unknown[] = [];
  const agent = new AgentService({
    registration: new RegistrationService(fs, hostWithEmulators),
    store,
    lock,
    reconciler: { status: () => ({ intervalMs: 60_000, failing: [] }) },
    probe: new HostProbe(os),
    docker,
    verifier: {
      verify: async (options) => {
        verified.push({ options, holder: lock.holder?.label });
        return { startedAt: new Date().toISOString(), checks: [], passed: false };
      },
    },
    hostArch: 'x86_64',
    interpreters: { interpreterDir: '/usr/bin', suffix: '-static' },
    lockWaitMs: 10,
    version: '1.2.3',
  });
  return { fs, store, lock, agent, verified, dockerCalls };
}

describe('AgentService', () => {
  it('applies the host-rule targets by default and keeps the state once the kernel holds it', async () => {
    const { agent, fs, store } = setup();
    const result = await agent.apply({ reset: true, persistent: true });
    expect(result.changed).toBe(true);
    expect(fs.entries.size).toBe(31);
    expect(fs.entries.has('qemu-x86_64')).toBe(false);
    expect(store.desired).toMatchObject({ persistent: true, interpreterDir: '/usr/bin', suffix: '-static' });
    expect(store.desired?.targets).toHaveLength(31);
  });

  it('keeps the previous desired state when the apply fails, and changes nothing in the kernel', async () => {
    const { agent, fs, store } = setup();
    await agent.apply({ targets: ['aarch64'] });
    const kept = store.desired;
    const writes = fs.writes.length;
    await expect(agent.apply({ targets: ['aarch64', 's390x'], persistent: true })).rejects.toMatchObject({
      code: 'ENTRY_CONFLICT',
    });
    expect(store.desired).toBe(kept);
    expect(fs.writes).toHaveLength(writes);
  });

  it('resets from the entry names: one gone meanwhile is fine, one it does not handle is refused before any write', async () => {
    const { agent, fs } = setup();
    await agent.apply({ targets: ['aarch64', 's390x'] });
    // Listed, then removed by someone else before the reset gets to it.
    const list = fs.list.bind(fs);
    fs.list = async () => [...(await list()), 'qemu-gone'];
    await expect(agent.apply({ reset: true, targets: ['aarch64'] })).resolves.toMatchObject({
      changed: true,
    });
    expect([...fs.entries.keys()]).toEqual(['qemu-aarch64']);

    const writes = fs.writes.length;
    fs.list = async () => [...(await list()), 'qemu-bad name'];
    await expect(agent.apply({ reset: true, targets: ['aarch64'] })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('"qemu-bad name" is not a binfmt_misc entry name'),
    });
    expect(fs.writes).toHaveLength(writes);
  });

  it('records removals and enable/disable in the desired state, so the reconciler keeps them', async () => {
    const { agent, store } = setup();
    await agent.apply({ targets: ['aarch64', 's390x', 'riscv64'] });
    const disabled = await agent.setEnabled(['s390x', 'riscv64'], false);
    expect(store.desired?.disabled).toEqual(['s390x', 'riscv64']);
    // The kernel's entries afterwards come with the answer (no second call to read them back).
    expect(disabled.changed).toEqual(['qemu-s390x', 'qemu-riscv64']);
    expect(Object.fromEntries(disabled.entries!.map((e) => [e.name, e.entry.enabled]))).toEqual({
      'qemu-aarch64': true,
      'qemu-riscv64': false,
      'qemu-s390x': false,
    });
    await agent.setEnabled(['riscv64'], true);
    expect(store.desired?.disabled).toEqual(['s390x']);
    await agent.remove(['s390x']);
    expect(store.desired).toMatchObject({ targets: ['aarch64', 'riscv64'], disabled: [] });
    expect(await agent.remove('all')).toEqual({ removed: ['qemu-aarch64', 'qemu-riscv64'], entries: [] });
    expect(store.desired?.targets).toEqual([]);
  });

  it('shows drift against the desired state in status', async () => {
    const { agent, fs } = setup();
    await agent.apply({ targets: ['aarch64', 's390x'] });
    expect((await agent.status()).drift).toEqual([]);
    await fs.remove('qemu-s390x');
    expect((await agent.status()).drift).toEqual([
      expect.objectContaining({ kind: 'register', name: 'qemu-s390x' }),
    ]);
  });

  it('reports facts, entries and the reconciler for heartbeats when the state file is corrupt, unlike status', async () => {
    const { agent, store } = setup();
    await agent.apply({ targets: ['aarch64'] });
    store.readDesired = async () => {
      throw new AgentError('STATE_CORRUPT', 'desired-state.json holds no valid desired state.');
    };
    await expect(agent.status()).rejects.toMatchObject({ code: 'STATE_CORRUPT' });
    const view = await agent.heartbeat();
    expect(view.binfmt.entries.map((e) => e.name)).toEqual(['qemu-aarch64']);
    expect(view.reconciler).toEqual({ intervalMs: 60_000, failing: [] });
    expect(view.facts.agentVersion).toBe('1.2.3');
  });

  it('reads binfmt_misc once per heartbeat and lets dockerd answer from its recent view', async () => {
    const { agent, fs, dockerCalls } = setup();
    await agent.apply({ targets: ['aarch64', 's390x'] });
    const reads: string[] = [];
    const list = fs.list.bind(fs);
    const read = fs.read.bind(fs);
    fs.list = async () => (reads.push('list'), list());
    fs.read = async (name) => (reads.push(name), read(name));
    const view = await agent.heartbeat();
    expect(reads).toEqual(['list', 'qemu-aarch64', 'qemu-s390x']);
    expect(view.facts.binfmt).toMatchObject({ mounted: true, writable: true });
    expect(dockerCalls).toEqual([{ maxAgeMs: DOCKER_INFO_MAX_AGE_MS }]);
  });

  it('answers heartbeats with the same facts object while nothing in them changed, a new one when something did', async () => {
    const os = new FakeHostOs();
    os.watchable = true;
    for (const cpu of ['aarch64', 's390x']) {
      os.programs.set(`/usr/bin/qemu-${cpu}-static`, () => ({
        exitCode: 0,
        stdout: `qemu-${cpu} version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)\n`,
        stderr: '',
        timedOut: false,
      }));
    }
    os.files.set('/usr/bin/qemu-aarch64-static', {});
    const { agent } = setup(os);
    const facts = async () => (await agent.heartbeat()).facts;
    // The versions are read after the first heartbeat: the facts change when they are in.
    await vi.waitFor(async () => expect((await facts()).interpreters[0]?.version).toBe('7.2.19'));
    const steady = await facts();
    expect(await facts()).toBe(steady);

    os.files.set('/usr/bin/qemu-s390x-static', {});
    os.changedIn('/usr/bin');
    await vi.waitFor(async () => expect((await facts()).interpreters).toHaveLength(2));
    const more = await facts();
    expect(more).not.toBe(steady);
    await vi.waitFor(async () => expect((await facts()).interpreters[0]?.version).toBe('7.2.19'));
    const settled = await facts();
    expect(await facts()).toBe(settled);
    expect(settled.interpreters.map((i) => i.target)).toEqual(['s390x', 'aarch64']);
  });

  it('runs every change under the host lock: a busy host answers BUSY and is not touched', async () => {
    const { agent, fs, lock } = setup();
    let release!: () => void;
    const held = lock.run('verify', () => new Promise<void>((r) => (release = r)), { waitMs: 0 });
    for (const call of [
      () => agent.apply({ targets: ['aarch64'] }),
      () => agent.remove('all'),
      () => agent.setEnabled(['aarch64'], false),
      () => agent.verify({}),
    ]) {
      await expect(call()).rejects.toMatchObject({
        code: 'BUSY',
        message: expect.stringContaining('(verify, started'),
      });
    }
    expect(fs.writes).toEqual([]);
    release();
    await held;
  });

  it('rehearses an apply: the answer apply then gives, under the lock, with nothing written', async () => {
    const { agent, fs, store, lock } = setup();
    await agent.apply({ targets: ['aarch64', 's390x'] });
    const writes = fs.writes.length;
    const storeWrites = store.writes;
    const rehearsed = await agent.rehearseApply({ reset: true, persistent: true });
    expect(fs.writes).toHaveLength(writes);
    expect(store.writes).toBe(storeWrites);
    expect(rehearsed?.actions.filter((a) => a.kind === 'remove')).toHaveLength(2);
    const applied = await agent.apply({ reset: true, persistent: true });
    expect({ ...rehearsed, entries: undefined }).toEqual({ ...applied, entries: undefined });
    expect(rehearsed?.entries.map((e) => e.name)).toEqual(['qemu-aarch64', 'qemu-s390x']);

    let release!: () => void;
    const held = lock.run('verify', () => new Promise<void>((r) => (release = r)), { waitMs: 0 });
    await expect(agent.rehearseApply({ reset: true }, 0)).rejects.toMatchObject({ code: 'BUSY' });
    release();
    await held;
  });

  it('rehearses nothing where binfmt_misc is not mounted, and does not mount it', async () => {
    const { agent, fs } = setup();
    fs.mounted = false;
    expect(await agent.rehearseApply({ reset: true })).toBeUndefined();
    expect(fs.mounted).toBe(false);
  });

  it("verifies under the lock, and answers with the kernel's entries too", async () => {
    const { agent, verified } = setup();
    await agent.apply({ targets: ['aarch64'] });
    const report = await agent.verify({ targets: ['aarch64'], methods: ['probe'] });
    expect(verified).toEqual([{ options: { targets: ['aarch64'], methods: ['probe'] }, holder: 'verify' }]);
    expect(report.entries).toEqual([expect.objectContaining({ name: 'qemu-aarch64', target: 'aarch64' })]);
  });

  it('exports what the host keeps, or what the request says', async () => {
    const { agent } = setup();
    expect(await agent.export({ format: 'systemd' })).toHaveLength(31);
    await agent.apply({ targets: ['aarch64'], persistent: true, interpreterDir: '/opt/qemu' });
    expect(await agent.export({ format: 'systemd' })).toEqual([
      {
        fileName: 'qemu-aarch64.conf',
        content: expect.stringMatching(/:\/opt\/qemu\/qemu-aarch64-static:F\n$/),
      },
    ]);
    const debian = await agent.export({ format: 'debian', targets: ['s390x'], persistent: false });
    expect(debian[0]?.content).toContain('fix_binary no');
    expect(await agent.export({ format: 'systemd', ignoreFamily: true })).toHaveLength(33);
  });

  it('reports facts with docker unreachable as a fact, not an error', async () => {
    const { agent } = setup();
    const facts = await agent.facts();
    expect(facts).toMatchObject({
      hostname: 'fake-host',
      machine: 'x86_64',
      agentVersion: '1.2.3',
      contractVersion: CONTRACT_VERSION,
      binfmt: { mounted: true, writable: true, namespaced: false },
      docker: { reachable: false, error: expect.stringContaining('docker.sock') },
      interpreters: [],
    });
  });
});
