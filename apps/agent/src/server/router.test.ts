import { agentApi, type AgentErrorCode } from '@binfleet/agent-contract';
import { ArchTableError } from '@binfleet/arch-table';
import { TRPCError } from '@trpc/server';
import { describe, expect, it, vi } from 'vitest';
import { AgentError } from '../errors.ts';
import type { AgentService } from '../services/agent-service.ts';
import type { BuildReport } from '@binfleet/agent-contract';
import type { ReconcilerStatus } from '../services/reconciler.ts';
import type { BinfmtStatus } from '../services/registration-service.ts';
import { agentRouter } from './router.ts';
import { createCallerFactory } from './trpc.ts';

const createCaller = createCallerFactory(agentRouter);

function callerWith(agent: Partial<AgentService>, authenticated = true) {
  return createCaller({ agent: agent as AgentService, authenticated });
}

const desired = {
  targets: ['s390x' as const],
  disabled: [],
  interpreterDir: '/usr/bin',
  suffix: '-static',
  credential: false,
  persistent: true,
  preserveArgv0: false,
  forceNative: false,
  allowMissing: false,
};

describe('agentRouter', () => {
  it("serves exactly the contract's procedures, each of its kind", () => {
    const served = Object.entries(agentRouter._def.procedures).map(
      ([name, procedure]) => [name, (procedure as { _def: { type: string } })._def.type] as const,
    );
    expect(Object.fromEntries(served)).toEqual(
      Object.fromEntries(Object.entries(agentApi).map(([name, p]) => [name, p.kind])),
    );
  });

  it('refuses every call in a context the HTTP layer did not authenticate', async () => {
    const status = vi.fn();
    await expect(callerWith({ status }, false).status()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(status).not.toHaveBeenCalled();
  });

  it('resolves any alias to targets before the service sees the input', async () => {
    const apply = vi.fn(async () => ({ changed: false, actions: [], entries: [], desired, warnings: [] }));
    await callerWith({ apply }).applyState({
      targets: ['arm64v8', 'linux/s390x', 'aarch64'],
      disabled: ['armhf'],
    });
    expect(apply).toHaveBeenCalledWith({ targets: ['s390x', 'aarch64'], disabled: ['arm'] });
  });

  it.each([
    [{ targets: ['pdp11'] }, /Unknown architecture \\"pdp11\\"/],
    [{ interpreterDir: '/usr/bin:/x' }, /contains ':'/],
    [{ suffix: 'x\n' }, /suffix/],
    [{ reset: 'yes' }, /reset/],
    [{ persistant: true }, /persistant/],
  ])('rejects %j with BAD_REQUEST before the service runs', async (input, message) => {
    const apply = vi.fn();
    const error = await callerWith({ apply })
      .applyState(input as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCError);
    expect(error).toMatchObject({ code: 'BAD_REQUEST' });
    expect(apply).not.toHaveBeenCalled();
    expect(JSON.stringify((error as TRPCError & { cause: { issues: unknown } }).cause.issues)).toMatch(
      message,
    );
  });

  it('needs at least one architecture for remove, enable and disable', async () => {
    const remove = vi.fn(async () => ({ removed: [] }));
    await expect(callerWith({ remove }).remove({ targets: [] })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await callerWith({ remove }).remove({ all: true });
    expect(remove).toHaveBeenCalledWith('all');
  });

  it.each<[AgentErrorCode, string]>([
    ['INVALID_INPUT', 'BAD_REQUEST'],
    ['UNKNOWN_ARCH', 'BAD_REQUEST'],
    ['ENTRY_CONFLICT', 'CONFLICT'],
    ['ENTRY_EXISTS', 'CONFLICT'],
    ['ENTRY_NOT_FOUND', 'NOT_FOUND'],
    ['BUSY', 'TOO_MANY_REQUESTS'],
    ['PERMISSION_DENIED', 'FORBIDDEN'],
    ['NOT_MOUNTED', 'PRECONDITION_FAILED'],
    ['INTERPRETER_MISSING', 'PRECONDITION_FAILED'],
    ['DOCKER_UNAVAILABLE', 'PRECONDITION_FAILED'],
    ['KERNEL_REJECTED', 'UNPROCESSABLE_CONTENT'],
    ['STATE_CORRUPT', 'INTERNAL_SERVER_ERROR'],
  ])('translates AgentError %s to %s, keeping the message', async (agentCode, trpcCode) => {
    const remove = vi.fn(async () =>
      Promise.reject(new AgentError(agentCode, `what to do about ${agentCode}`)),
    );
    await expect(callerWith({ remove }).remove({ all: true })).rejects.toMatchObject({
      code: trpcCode,
      message: `what to do about ${agentCode}`,
      cause: expect.objectContaining({ code: agentCode }),
    });
  });

  it('treats arch-table errors as bad input and anything else as an internal error', async () => {
    const fromTable = vi.fn(async () =>
      Promise.reject(new ArchTableError('INVALID_INTERPRETER', 'bad path')),
    );
    await expect(callerWith({ export: fromTable }).export({ format: 'systemd' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'bad path',
    });
    const crash = vi.fn(async () => Promise.reject(new Error('boom')));
    await expect(callerWith({ export: crash }).export({ format: 'systemd' })).rejects.toMatchObject({
      code: 'INTERNAL_SERVER_ERROR',
    });
  });

  it('answers with every field the services give (the contract drops none)', async () => {
    const binfmt: BinfmtStatus = {
      mountPoint: '/proc/sys/fs/binfmt_misc',
      mounted: true,
      writable: true,
      enabled: true,
      entries: [
        {
          name: 'qemu-aarch64',
          target: 'aarch64',
          entry: {
            name: 'qemu-aarch64',
            enabled: true,
            interpreter: '/usr/bin/qemu-aarch64-static',
            flags: 'F',
            type: 'M',
            offset: 0,
            magic: '7f454c46',
            mask: 'ffffffff',
          },
        },
        {
          name: 'jar',
          entry: {
            name: 'jar',
            enabled: false,
            interpreter: '/usr/bin/jexec',
            flags: '',
            type: 'E',
            extension: 'jar',
          },
        },
      ],
    };
    const reconciler: ReconcilerStatus = {
      intervalMs: 60_000,
      lastRunAt: '2024-01-01T00:00:00.000Z',
      lastOutcome: 'failed',
      lastError: { code: 'KERNEL_REJECTED', message: 'no', at: '2024-01-01T00:00:00.000Z' },
      nextRunAt: '2024-01-01T00:01:00.000Z',
      failing: [{ target: 's390x', attempts: 2, code: 'KERNEL_REJECTED', message: 'no', nextAttemptAt: 'x' }],
    };
    const status = {
      binfmt,
      desired,
      drift: [{ kind: 'register' as const, name: 'qemu-s390x', target: 's390x' as const, line: ':x:' }],
      reconciler,
      operation: { label: 'verify', startedAt: '2024-01-01T00:00:00.000Z' },
    };
    expect(await callerWith({ status: async () => status }).status()).toEqual(status);

    const report: BuildReport = {
      id: 'b1',
      status: 'succeeded',
      createdAt: 'c',
      startedAt: 's',
      finishedAt: 'f',
      error: 'e',
      request: {
        packagePath: '/p.deb',
        packageSha256: 'a'.repeat(64),
        registry: '127.0.0.1:5000',
        repository: 'r',
        targets: ['aarch64'],
        busybox: '/b',
        testImage: 't',
        skipChecks: true,
        keepImages: true,
        buildId: 'b1',
        username: 'u',
      },
      package: {
        sha256: 'a'.repeat(64),
        size: 1,
        name: 'qemu-user-static',
        version: '1:7.2',
        architecture: 'amd64',
        fromArch: 'x86_64',
        upstreamVersion: '7.2',
        emulators: ['qemu-aarch64-static'],
        targets: ['aarch64'],
        qemuVersion: '7.2.0',
      },
      version: '7.2.0',
      steps: [
        { name: 'push', status: 'succeeded', startedAt: 's', finishedAt: 'f', durationMs: 1, log: 'l' },
      ],
      checks: [{ name: 'c', status: 'pass', detail: 'd', output: 'o', durationMs: 1 }],
      tags: [{ tag: 't', reference: 'r:t', platform: 'linux/amd64', imageId: 'i', digest: 'd', size: 1 }],
      logLength: 1,
    };
    const builds = { get: () => report } as unknown as AgentService['builds'];
    expect(await callerWith({ builds }).buildStatus({ id: 'b1' })).toEqual(report);
  });

  it('refuses to answer with what the contract does not allow', async () => {
    const status = vi.fn(async () => ({ binfmt: { mounted: 'yes' } }) as never);
    await expect(callerWith({ status }).status()).rejects.toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
  });
});
