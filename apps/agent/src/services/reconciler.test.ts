import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DesiredState } from '@binfleet/agent-contract';
import { AgentError } from '../errors.ts';
import { hostWithEmulators } from '../testing/fake-host-os.ts';
import { MemoryBinfmtFs } from '../testing/memory-binfmt-fs.ts';
import { desiredState } from './desired-state.ts';
import { OperationLock } from './operation-lock.ts';
import { Reconciler, type LogRecord } from './reconciler.ts';
import { RegistrationService } from './registration-service.ts';

const INTERVAL = 1000;

function setup(initial: DesiredState | undefined) {
  const fs = new MemoryBinfmtFs();
  const registration = new RegistrationService(fs, hostWithEmulators);
  const store = { desired: initial, readDesired: async () => store.desired };
  const lock = new OperationLock();
  const logs: LogRecord[] = [];
  const clock = { now: new Date('2026-01-01T00:00:00Z') };
  const reconciler = new Reconciler(registration, store, lock, {
    intervalMs: INTERVAL,
    maxBackoffMs: 8 * INTERVAL,
    log: (r) => logs.push(r),
    now: () => clock.now,
  });
  const advance = (ms: number) => (clock.now = new Date(clock.now.getTime() + ms));
  return { fs, registration, store, lock, logs, reconciler, advance };
}

const wanted = desiredState({ targets: ['aarch64', 's390x'], disabled: ['s390x'], persistent: true });

describe('Reconciler', () => {
  afterEach(() => vi.useRealTimers());

  it('does nothing without a desired state', async () => {
    const { reconciler, fs, logs } = setup(undefined);
    expect(await reconciler.reconcileOnce()).toEqual({ kind: 'no-desired-state' });
    expect(fs.writes).toEqual([]);
    expect(logs).toEqual([]);
  });

  it('applies the desired state to an empty kernel and logs exactly what it changed', async () => {
    const { reconciler, fs, logs } = setup(wanted);
    const outcome = await reconciler.reconcileOnce();
    expect(outcome).toMatchObject({ kind: 'converged', failed: [], deferred: [] });
    expect([...fs.entries.keys()].sort()).toEqual(['qemu-aarch64', 'qemu-s390x']);
    expect(fs.entries.get('qemu-s390x')?.enabled).toBe(false);
    expect(logs).toEqual([
      {
        event: 'reconcile',
        level: 'info',
        outcome: 'changed',
        changed: [
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
            target: 's390x',
            actions: [
              expect.objectContaining({ kind: 'register', name: 'qemu-s390x' }),
              { kind: 'disable', name: 'qemu-s390x', target: 's390x' },
            ],
          },
        ],
        failed: [],
        deferred: [],
      },
    ]);
  });

  it('never writes or logs when the kernel already matches (no flapping)', async () => {
    const { reconciler, fs, logs } = setup(wanted);
    await reconciler.reconcileOnce();
    const writes = fs.writes.length;
    for (let i = 0; i < 5; i++) expect(await reconciler.reconcileOnce()).toEqual({ kind: 'in-sync' });
    expect(fs.writes).toHaveLength(writes);
    expect(logs).toHaveLength(1);
  });

  it('replaces a drifted entry (force) but never resets: entries it does not own stay', async () => {
    const { reconciler, registration, fs, logs } = setup(wanted);
    await registration.apply(desiredState({ targets: ['aarch64', 'riscv64'] }));
    await reconciler.reconcileOnce();
    expect(fs.entries.get('qemu-aarch64')?.flags).toBe('F');
    expect(fs.entries.has('qemu-riscv64')).toBe(true);
    expect(logs[0]).toMatchObject({
      changed: expect.arrayContaining([
        {
          target: 'aarch64',
          actions: [
            { kind: 'remove', name: 'qemu-aarch64', reason: 'replace' },
            expect.objectContaining({ kind: 'register' }),
          ],
        },
      ]),
    });
  });

  it('reports an entry the kernel keeps rejecting and retries it with growing backoff while others converge', async () => {
    const { reconciler, fs, logs, advance } = setup(wanted);
    fs.refuse = (line) =>
      line.startsWith(':qemu-s390x:')
        ? new AgentError('KERNEL_REJECTED', 'The kernel rejected qemu-s390x (EINVAL).')
        : undefined;
    const first = await reconciler.reconcileOnce();
    expect(first).toMatchObject({
      kind: 'converged',
      changed: [{ target: 'aarch64' }],
      failed: [
        { target: 's390x', code: 'KERNEL_REJECTED', attempts: 1, nextAttemptAt: '2026-01-01T00:00:02.000Z' },
      ],
    });
    expect(logs[0]).toMatchObject({ outcome: 'partial', level: 'warn' });
    expect(reconciler.status().lastError).toEqual({
      code: 'KERNEL_REJECTED',
      message: 's390x: The kernel rejected qemu-s390x (EINVAL).',
      at: '2026-01-01T00:00:00.000Z',
    });

    // Passes every interval: the entry is tried again only after 2, 4, 8, 8 intervals (capped).
    const triedAt: number[] = [];
    for (let t = 1; t <= 30; t++) {
      advance(INTERVAL);
      const writes = fs.writes.length;
      const outcome = await reconciler.reconcileOnce();
      if (fs.writes.length > writes) triedAt.push(t);
      else expect(outcome).toMatchObject({ deferred: ['s390x'], failed: [] });
    }
    expect(triedAt).toEqual([2, 6, 14, 22, 30]);
    expect(reconciler.status().failing).toEqual([
      expect.objectContaining({ target: 's390x', code: 'KERNEL_REJECTED', attempts: 6 }),
    ]);
    // Deferred-only passes log nothing: one line per real attempt.
    expect(logs).toHaveLength(6);
    // Deferring the entry is no success: the error stays, dated by its latest attempt.
    expect(reconciler.status().lastError).toMatchObject({ at: '2026-01-01T00:00:30.000Z' });

    fs.refuse = () => undefined;
    advance(8 * INTERVAL);
    await reconciler.reconcileOnce();
    expect(fs.entries.has('qemu-s390x')).toBe(true);
    expect(reconciler.status().failing).toEqual([]);
    expect(reconciler.status().lastError).toBeUndefined();
  });

  it('gives every entry a fresh attempt when the desired state changes', async () => {
    const { reconciler, fs, store } = setup(wanted);
    fs.refuse = (line) =>
      line.startsWith(':qemu-s390x:') ? new AgentError('KERNEL_REJECTED', 'no') : undefined;
    await reconciler.reconcileOnce();
    fs.refuse = () => undefined;
    store.desired = desiredState({ ...wanted, credential: true });
    expect(await reconciler.reconcileOnce()).toMatchObject({ kind: 'converged', failed: [], deferred: [] });
    expect(fs.entries.get('qemu-s390x')?.flags).toBe('OCF');
  });

  it('skips a pass while another operation holds the lock', async () => {
    const { reconciler, lock, fs } = setup(wanted);
    let release!: () => void;
    const held = lock.run('apply', () => new Promise<void>((r) => (release = r)), { waitMs: 0 });
    expect(await reconciler.reconcileOnce()).toEqual({ kind: 'busy' });
    expect(fs.writes).toEqual([]);
    release();
    await held;
  });

  it('converges to the state as it is once it holds the lock, not as it was before', async () => {
    const { reconciler, store, lock, fs } = setup(wanted);
    // While the pass reads the state, an API call takes the lock, removes s390x and lets go.
    let changed = false;
    Object.assign(store, {
      readDesired: async () => {
        const read = store.desired;
        if (!changed) {
          changed = true;
          await lock.run(
            'remove',
            async () => {
              store.desired = desiredState({ targets: ['aarch64'], persistent: true });
            },
            { waitMs: 0 },
          );
        }
        return read;
      },
    });
    expect(await reconciler.reconcileOnce()).toMatchObject({ kind: 'converged' });
    expect([...fs.entries.keys()]).toEqual(['qemu-aarch64']);
  });

  it('keeps a failed pass its last error through busy passes, until a pass succeeds', async () => {
    const { reconciler, store, lock } = setup(wanted);
    const readDesired = store.readDesired;
    Object.assign(store, {
      readDesired: async () => {
        throw new AgentError('STATE_CORRUPT', 'desired-state.json holds no valid desired state.');
      },
    });
    await reconciler.reconcileOnce();
    const failed = {
      code: 'STATE_CORRUPT',
      message: 'desired-state.json holds no valid desired state.',
      at: '2026-01-01T00:00:00.000Z',
    };
    expect(reconciler.status().lastError).toEqual(failed);
    Object.assign(store, { readDesired });
    let release!: () => void;
    const held = lock.run('apply', () => new Promise<void>((r) => (release = r)), { waitMs: 0 });
    expect(await reconciler.reconcileOnce()).toEqual({ kind: 'busy' });
    expect(reconciler.status().lastError).toEqual(failed);
    release();
    await held;
    expect(await reconciler.reconcileOnce()).toMatchObject({ kind: 'converged', failed: [] });
    expect(reconciler.status().lastError).toBeUndefined();
  });

  it('backs off whole passes that fail, and reports why', async () => {
    vi.useFakeTimers();
    const { reconciler, store, logs } = setup(wanted);
    const read = vi.fn(async () => {
      throw new AgentError('STATE_CORRUPT', 'desired-state.json holds no valid desired state.');
    });
    Object.assign(store, { readDesired: read });
    reconciler.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(read).toHaveBeenCalledTimes(1);
    expect(reconciler.status()).toMatchObject({
      lastOutcome: 'failed',
      lastError: { code: 'STATE_CORRUPT' },
    });
    // Next passes after 2, then 4 intervals, not every interval.
    await vi.advanceTimersByTimeAsync(2 * INTERVAL - 1);
    expect(read).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(read).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(4 * INTERVAL);
    expect(read).toHaveBeenCalledTimes(3);
    expect(logs.map((l) => l.attempts)).toEqual([1, 2, 3]);
    await reconciler.stop();
    await vi.advanceTimersByTimeAsync(100 * INTERVAL);
    expect(read).toHaveBeenCalledTimes(3);
  });
});
