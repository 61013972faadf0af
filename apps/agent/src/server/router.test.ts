import { ArchTableError } from '@binfleet/arch-table';
import { TRPCError } from '@trpc/server';
import { describe, expect, it, vi } from 'vitest';
import { AgentError, type AgentErrorCode } from '../errors.ts';
import type { AgentService } from '../services/agent-service.ts';
import { agentRouter } from './router.ts';
import { createCallerFactory } from './trpc.ts';

const createCaller = createCallerFactory(agentRouter);

function callerWith(agent: Partial<AgentService>, authenticated = true) {
  return createCaller({ agent: agent as AgentService, authenticated });
}

describe('agentRouter', () => {
  it('refuses every call in a context the HTTP layer did not authenticate', async () => {
    const status = vi.fn();
    await expect(callerWith({ status }, false).status()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(status).not.toHaveBeenCalled();
  });

  it('resolves any alias to targets before the service sees the input', async () => {
    const apply = vi.fn(async () => ({}) as never);
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
    const remove = vi.fn();
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
});
