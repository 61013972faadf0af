import type { EntryStatus } from '@binfleet/agent-contract';
import { describe, expect, it, vi } from 'vitest';
import type { AgentConnection } from '../agents/agent-gateway.ts';
import { runJobAction } from './job-actions.ts';

const entry = (target: string, enabled = true): EntryStatus => ({
  name: `qemu-${target}`,
  entry: {
    name: `qemu-${target}`,
    enabled,
    interpreter: `/usr/bin/qemu-${target}-static`,
    flags: 'F',
    type: 'M',
    offset: 0,
    magic: '7f454c46',
  },
});

/** An agent that answers remove, disable and verify, with the entries afterwards or (contract 1) without. */
function agentAnswering(withEntries: boolean) {
  const after = [entry('aarch64'), entry('s390x', false)];
  const entries = withEntries ? { entries: after } : {};
  const status = vi.fn(async () => ({ binfmt: { entries: after } }));
  const agent = {
    status,
    remove: vi.fn(async () => ({ removed: ['qemu-riscv64'], ...entries })),
    disable: vi.fn(async () => ({ changed: ['qemu-s390x'], ...entries })),
    verify: vi.fn(async () => ({ startedAt: 'now', checks: [], passed: false, ...entries })),
  } as unknown as AgentConnection;
  return { agent, status, after: after.map((e) => e.entry) };
}

describe('runJobAction', () => {
  it("takes the kernel's entries from the answer, without a second call", async () => {
    const { agent, status, after } = agentAnswering(true);
    expect(await runJobAction(agent, { kind: 'disable', targets: ['s390x'] }, null)).toEqual({
      entries: after,
      detail: { changed: ['qemu-s390x'] },
      ok: true,
    });
    expect(await runJobAction(agent, { kind: 'verify' }, null)).toMatchObject({
      entries: after,
      detail: { passed: false, checks: [] },
      ok: false,
    });
    expect(status).not.toHaveBeenCalled();
  });

  it('reads them with status from an agent of contract 1, which answered without them', async () => {
    const { agent, status, after } = agentAnswering(false);
    expect(await runJobAction(agent, { kind: 'remove', targets: ['riscv64'] }, null)).toEqual({
      entries: after,
      detail: { removed: ['qemu-riscv64'] },
      ok: true,
    });
    expect(status).toHaveBeenCalledTimes(1);
  });

  it('sends forceNative only when the job asks for it (agents before the guard rails refuse the field)', async () => {
    const applied = {
      changed: true,
      actions: [],
      entries: [],
      desired: {},
      warnings: ['--force-native: ...'],
    };
    const applyState = vi.fn(async (_input: unknown) => applied);
    const agent = { applyState } as unknown as AgentConnection;
    const flags = { persistent: false, credential: false, preserveArgv0: false };
    await runJobAction(agent, { kind: 'register', targets: ['x86_64'], ...flags, forceNative: true }, null);
    await runJobAction(agent, { kind: 'register', targets: ['s390x'], ...flags }, null);
    expect(applyState.mock.calls.map(([input]) => input)).toEqual([
      { targets: ['x86_64'], ...flags, forceNative: true, force: true },
      { targets: ['s390x'], ...flags, force: true },
    ]);
    expect(
      await runJobAction(agent, { kind: 'reset-register', usePolicy: false, ...flags }, null),
    ).toMatchObject({
      detail: { warnings: ['--force-native: ...'] },
    });
  });

  it('refuses a reset by policy where no policy applies, before calling the agent', async () => {
    const { agent } = agentAnswering(true);
    const applyState = vi.fn();
    await expect(
      runJobAction({ ...agent, applyState }, { kind: 'reset-register', usePolicy: true } as never, null),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/No policy applies/) });
    expect(applyState).not.toHaveBeenCalled();
  });
});
