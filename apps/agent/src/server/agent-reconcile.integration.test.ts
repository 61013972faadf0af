import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fixtures,
  kernelSnapshot,
  startAgent,
  startSandbox,
  type LogLine,
  type Sandbox,
} from '@binfleet/test-sandbox';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAgentClient } from './agent-client.ts';

// The desired state survives what the kernel forgets: a reboot (a new, empty binfmt_misc), entries
// removed or changed behind the agent's back. Nobody calls the API after the first apply.
const TOKEN = 'reconcile-token-0123456789abcdefghijkl';
const env = { BINFLEET_AGENT_TOKEN: TOKEN };
const qemuEntries = (sandbox: Sandbox) =>
  Object.keys(kernelSnapshot(sandbox)).filter((n) => n.startsWith('qemu-'));
const isReconcile = (l: LogLine) => l.event === 'reconcile';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const until = async (done: () => boolean, timeoutMs = 5_000) => {
  for (const end = Date.now() + timeoutMs; !done(); await sleep(50)) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
  }
};

describe('reconciliation', () => {
  let dir: string;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-reconcile-'));
  });
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const sandboxed = async () => {
    const sandbox = await startSandbox();
    cleanup.push(() => sandbox.stop());
    return sandbox;
  };
  const agentIn = async (sandbox: Sandbox, stateDir: string, args: string[] = []) => {
    const agent = await startAgent(sandbox, { stateDir, args, env });
    cleanup.push(() => agent.stop());
    return agent;
  };

  it('after a reboot (a new, empty binfmt_misc) the agent re-applies the desired state on its own', async () => {
    const stateDir = join(dir, 'reboot');
    const before = await sandboxed();
    const first = await agentIn(before, stateDir);
    const client = createAgentClient(first.url, TOKEN);
    await client.applyState.mutate({ targets: ['arm64', 's390x', 'riscv64'], persistent: true });
    await client.disable.mutate({ targets: ['riscv64'] });
    const applied = kernelSnapshot(before);
    expect(await first.stop()).toBe(0);
    await before.stop();

    // The "reboot": a fresh kernel binfmt_misc with nothing registered.
    const after = await sandboxed();
    expect(qemuEntries(after)).toEqual([]);
    const second = await agentIn(after, stateDir);
    const line = await second.waitForLog(isReconcile);

    expect(kernelSnapshot(after)).toEqual(applied);
    expect(kernelSnapshot(after)['qemu-aarch64']).toMatch(/^flags: F$/m);
    expect(kernelSnapshot(after)['qemu-riscv64']).toMatch(/^disabled$/m);
    expect(line).toMatchObject({ outcome: 'changed', failed: [], deferred: [] });
    expect(line.changed).toEqual([
      {
        target: 's390x',
        actions: [
          expect.objectContaining({
            kind: 'register',
            name: 'qemu-s390x',
            line: expect.stringMatching(/:F$/),
          }),
        ],
      },
      {
        target: 'aarch64',
        actions: [
          expect.objectContaining({
            kind: 'register',
            name: 'qemu-aarch64',
            line: expect.stringMatching(/:F$/),
          }),
        ],
      },
      {
        target: 'riscv64',
        actions: [
          expect.objectContaining({ kind: 'register', name: 'qemu-riscv64' }),
          { kind: 'disable', name: 'qemu-riscv64', target: 'riscv64' },
        ],
      },
    ]);
    const run = await after.exec(fixtures().busybox('arm64'), ['uname', '-m']);
    expect(run).toMatchObject({ code: 0, stdout: 'aarch64\n' });
  });

  it('repairs drift on its timer, logs exactly that, leaves foreign entries alone, and never flaps', async () => {
    const sandbox = await sandboxed();
    const agent = await agentIn(sandbox, join(dir, 'drift'), ['--reconcile-interval', '200ms']);
    const client = createAgentClient(agent.url, TOKEN);
    await client.applyState.mutate({ targets: ['arm64', 's390x'], persistent: true });
    const wanted = kernelSnapshot(sandbox);
    const kernel = sandbox.hostMountPoint;

    // Behind the agent's back: one entry removed, one re-registered without F, one foreign added.
    const s390x = await readFile(`${kernel}/qemu-s390x`, 'utf8');
    const magic = /^magic (\S+)$/m.exec(s390x)![1]!.replace(/../g, '\\x$&');
    await writeFile(`${kernel}/qemu-aarch64`, '-1');
    await writeFile(`${kernel}/qemu-s390x`, '-1');
    await writeFile(`${kernel}/register`, `:qemu-s390x:M::${magic}::/usr/bin/qemu-s390x-static:`);
    await writeFile(`${kernel}/register`, ':foreign:E::xyz::/bin/true:');

    // Writes above may straddle a pass: gather every pass's changes until the kernel is repaired
    // and the pass that repaired it has logged (it logs once it is done, after the kernel changed).
    const changes = () =>
      agent.logs
        .filter(isReconcile)
        .flatMap((l) => l.changed as { target: string; actions: { kind: string }[] }[])
        .flatMap((c) => c.actions.map((a) => `${c.target} ${a.kind}`));
    await until(() => {
      const { foreign: _, ...ours } = kernelSnapshot(sandbox);
      const seen = changes();
      return (
        JSON.stringify(ours) === JSON.stringify(wanted) &&
        seen.includes('aarch64 register') &&
        seen.includes('s390x register')
      );
    });
    expect(changes().sort()).toEqual(['aarch64 register', 's390x register', 's390x remove']);
    expect(kernelSnapshot(sandbox).foreign).toMatch(/^interpreter \/bin\/true$/m);
    const logged = agent.logs.filter(isReconcile).length;

    // Ten more passes over an equal kernel: nothing written, nothing logged.
    await sleep(2_000);
    expect(agent.logs.filter(isReconcile)).toHaveLength(logged);
    const status = await client.status.query();
    expect(status.reconciler).toMatchObject({ lastOutcome: 'in-sync', failing: [] });
    expect(status.drift).toEqual([]);
  });

  it('keeps what callers removed or disabled through the API', async () => {
    const sandbox = await sandboxed();
    const agent = await agentIn(sandbox, join(dir, 'api'), ['--reconcile-interval', '200ms']);
    const client = createAgentClient(agent.url, TOKEN);
    await client.applyState.mutate({ targets: ['arm64', 's390x'], persistent: true });
    await client.remove.mutate({ targets: ['s390x'] });
    await client.disable.mutate({ targets: ['arm64'] });
    await sleep(1_000);
    expect(qemuEntries(sandbox)).toEqual(['qemu-aarch64']);
    expect(kernelSnapshot(sandbox)['qemu-aarch64']).toMatch(/^disabled$/m);
    expect(agent.logs.filter(isReconcile)).toEqual([]);
  });

  it('an entry that keeps failing is reported and retried with backoff while the others converge', async () => {
    // Interpreters for aarch64 only: s390x with F must fail every time (its emulator is missing).
    const stateDir = join(dir, 'failing');
    const bin = join(dir, 'failing-bin');
    await mkdir(bin, { recursive: true });
    await symlink('/usr/bin/qemu-aarch64-static', join(bin, 'qemu-aarch64-static'));
    await mkdir(stateDir, { recursive: true });
    const state = {
      targets: ['s390x', 'aarch64'],
      disabled: [],
      interpreterDir: bin,
      suffix: '-static',
      credential: false,
      persistent: true,
      preserveArgv0: false,
    };
    await writeFile(
      join(stateDir, 'desired-state.json'),
      JSON.stringify({ version: 1, updatedAt: new Date().toISOString(), state }),
    );

    const sandbox = await sandboxed();
    const agent = await agentIn(sandbox, stateDir, ['--reconcile-interval', '100ms']);
    const first = await agent.waitForLog(isReconcile);
    expect(first).toMatchObject({
      outcome: 'partial',
      changed: [{ target: 'aarch64', actions: [expect.objectContaining({ kind: 'register' })] }],
      failed: [
        {
          target: 's390x',
          code: 'INTERPRETER_MISSING',
          attempts: 1,
          message: expect.stringContaining(`${bin}/qemu-s390x-static`),
        },
      ],
    });
    expect(qemuEntries(sandbox)).toEqual(['qemu-aarch64']);

    // 3 s at a 100 ms interval is 30 passes; with backoff (200, 400, 800, 1600 ms) s390x is tried ~4 times.
    await sleep(3_000);
    const attempts = agent.logs.filter(isReconcile).length;
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(attempts).toBeLessThanOrEqual(6);
    const status = await createAgentClient(agent.url, TOKEN).status.query();
    expect(status.reconciler.failing).toEqual([
      expect.objectContaining({ target: 's390x', code: 'INTERPRETER_MISSING', attempts: expect.any(Number) }),
    ]);
  });

  it('reports a corrupt state file instead of applying it, and an apply through the API repairs it', async () => {
    const stateDir = join(dir, 'corrupt');
    await mkdir(stateDir, { recursive: true });
    await writeFile(join(stateDir, 'desired-state.json'), '{"version": 1, "state": {"targets": ["aarch64"');
    const sandbox = await sandboxed();
    const agent = await agentIn(sandbox, stateDir, ['--reconcile-interval', '100ms']);
    const line = await agent.waitForLog(isReconcile);
    expect(line).toMatchObject({
      outcome: 'failed',
      code: 'STATE_CORRUPT',
      message: expect.stringMatching(/desired-state\.json holds no valid/),
    });
    expect(qemuEntries(sandbox)).toEqual([]);

    const client = createAgentClient(agent.url, TOKEN);
    await client.applyState.mutate({ targets: ['arm64'] });
    expect(JSON.parse(await readFile(join(stateDir, 'desired-state.json'), 'utf8')).state.targets).toEqual([
      'aarch64',
    ]);
    expect(qemuEntries(sandbox)).toEqual(['qemu-aarch64']);
  });
});
