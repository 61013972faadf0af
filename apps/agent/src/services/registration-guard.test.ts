import { describe, expect, it } from 'vitest';
import type { DesiredStateInput } from '@binfleet/agent-contract';
import { encodeRegisterLine, targetRegisterSpec, type TargetId } from '@binfleet/arch-table';
import { HostProbe } from '../host/host-probe.ts';
import { fakeElfOf, FakeHostOs } from '../testing/fake-host-os.ts';
import { MemoryBinfmtFs } from '../testing/memory-binfmt-fs.ts';
import { desiredState } from './desired-state.ts';
import { OperationLock } from './operation-lock.ts';
import { Reconciler, type LogRecord } from './reconciler.ts';
import { RegistrationService } from './registration-service.ts';

/** A host whose own programs are of `machine`, with the seed's emulators for `emulators` in /usr/bin. */
function setup(
  machine: 'x86_64' | 'aarch64',
  emulators: readonly TargetId[] = ['aarch64', 's390x', 'x86_64'],
) {
  const os = new FakeHostOs({ machine, ownExecutables: ['/usr/bin/node', '/bin/sh'] });
  os.files.set('/usr/bin/node', { content: fakeElfOf(machine) });
  for (const t of emulators) os.files.set(`/usr/bin/qemu-${t}-static`, { content: fakeElfOf('x86_64') });
  const fs = new MemoryBinfmtFs();
  const audit: Record<string, unknown>[] = [];
  const registration = new RegistrationService(fs, new HostProbe(os), { audit: (r) => audit.push(r) });
  return { os, fs, registration, audit };
}

const state = (targets: TargetId[], more: Omit<DesiredStateInput, 'targets'> = {}) =>
  desiredState({ targets, ...more });

describe('the guard rails of RegistrationService.apply', () => {
  it("refuses a target that matches the host's own programs and writes nothing", async () => {
    const { fs, registration } = setup('x86_64');
    await expect(registration.apply(state(['aarch64', 'x86_64']))).rejects.toMatchObject({
      code: 'NATIVE_TARGET',
      message: expect.stringContaining('/usr/bin/node'),
      details: { native: [{ target: 'x86_64', matches: '/usr/bin/node' }] },
    });
    expect(fs.writes).toEqual([]);
  });

  it('goes by the programs of the host: on an arm64 host aarch64 is refused and x86_64 is fine', async () => {
    const { registration } = setup('aarch64');
    await expect(registration.apply(state(['aarch64']))).rejects.toMatchObject({ code: 'NATIVE_TARGET' });
    await expect(registration.apply(state(['x86_64']))).resolves.toMatchObject({ changed: true });
  });

  it('registers a native target with forceNative, warns and writes one audit record per target', async () => {
    const { fs, registration, audit } = setup('x86_64');
    const result = await registration.apply(state(['x86_64'], { forceNative: true }));
    expect(fs.entries.has('qemu-x86_64')).toBe(true);
    expect(result.warnings).toEqual([expect.stringMatching(/^--force-native: qemu-x86_64/)]);
    expect(audit).toEqual([
      expect.objectContaining({
        event: 'audit',
        action: 'force-native',
        target: 'x86_64',
        matches: '/usr/bin/node',
      }),
    ]);
  });

  it('refuses when none of the host programs can be read, rather than guess', async () => {
    const { os, registration, fs } = setup('x86_64');
    os.files.delete('/usr/bin/node');
    os.files.delete('/bin/sh');
    await expect(registration.apply(state(['aarch64']))).rejects.toMatchObject({
      code: 'NATIVE_TARGET',
      message: expect.stringMatching(/could be read/),
    });
    expect(fs.writes).toEqual([]);
  });

  it('refuses missing emulators without F unless allowMissing; with F always', async () => {
    const { fs, registration } = setup('x86_64', ['s390x']);
    await expect(registration.apply(state(['aarch64', 's390x']))).rejects.toMatchObject({
      code: 'INTERPRETER_MISSING',
      details: { missing: ['/usr/bin/qemu-aarch64-static'] },
    });
    await expect(
      registration.apply(state(['aarch64'], { persistent: true, allowMissing: true })),
    ).rejects.toMatchObject({ code: 'INTERPRETER_MISSING', message: /Persistent \(F\)/ });
    expect(fs.writes).toEqual([]);
    const staged = await registration.apply(state(['aarch64'], { allowMissing: true }));
    expect(staged.warnings).toEqual([expect.stringMatching(/^--allow-missing: .*qemu-aarch64-static/)]);
  });

  it('refuses beside an overlapping entry of another name, also after a reset, unless force', async () => {
    const { fs, registration } = setup('x86_64');
    await fs.register(
      encodeRegisterLine({ ...targetRegisterSpec('aarch64', { interpreterDir: '/opt' }), name: 'box-arm64' }),
    );
    const writes = fs.writes.length;
    for (const reset of [false, true]) {
      await expect(registration.apply(state(['aarch64']), { reset })).rejects.toMatchObject({
        code: 'ENTRY_OVERLAP',
        details: { overlaps: [{ target: 'aarch64', entry: 'box-arm64' }] },
      });
    }
    expect(fs.writes).toHaveLength(writes);
    const forced = await registration.apply(state(['aarch64']), { force: true });
    expect(forced.warnings).toEqual([
      expect.stringMatching(/^--force: qemu-aarch64 overlaps the entry "box-arm64"/),
    ]);
  });

  it('warns about C, and about nothing else for an ordinary registration', async () => {
    const { registration } = setup('x86_64');
    expect((await registration.apply(state(['s390x']))).warnings).toEqual([]);
    const withC = await registration.apply(state(['s390x'], { credential: true }), { force: true });
    expect(withC.warnings).toEqual([expect.stringMatching(/^C \(credential\) is set/)]);
  });
});

describe('the reconciler goes through the same rails', () => {
  const reconcilerOver = (registration: RegistrationService, desired: ReturnType<typeof desiredState>) => {
    const logs: LogRecord[] = [];
    const reconciler = new Reconciler(
      registration,
      { readDesired: async () => desired },
      new OperationLock(),
      {
        intervalMs: 1000,
        log: (r) => logs.push(r),
      },
    );
    return { reconciler, logs };
  };

  it('never registers a native target a state file names without forceNative (e.g. written by hand)', async () => {
    const { fs, registration } = setup('x86_64');
    const { reconciler } = reconcilerOver(registration, state(['x86_64', 's390x']));
    const outcome = await reconciler.reconcileOnce();
    expect(outcome).toMatchObject({
      kind: 'converged',
      failed: [expect.objectContaining({ target: 'x86_64', code: 'NATIVE_TARGET' })],
    });
    expect([...fs.entries.keys()]).toEqual(['qemu-s390x']);
  });

  it('keeps what the caller accepted: a forced native target (audited again) and a staged install', async () => {
    const { fs, registration, audit } = setup('x86_64', []);
    const { reconciler } = reconcilerOver(
      registration,
      state(['x86_64', 'aarch64'], { forceNative: true, allowMissing: true }),
    );
    expect(await reconciler.reconcileOnce()).toMatchObject({ kind: 'converged', failed: [] });
    expect([...fs.entries.keys()].sort()).toEqual(['qemu-aarch64', 'qemu-x86_64']);
    expect(audit).toEqual([expect.objectContaining({ action: 'force-native', target: 'x86_64' })]);
  });
});
