import { describe, expect, it } from 'vitest';
import { agentApi } from './agent-api.ts';

describe('the agent API table', () => {
  it('resolves architecture aliases in inputs and refuses misspelt options', () => {
    expect(agentApi.applyState.input.parse({ targets: ['arm64v8', 'linux/s390x'] })).toEqual({
      targets: ['s390x', 'aarch64'],
    });
    expect(agentApi.applyState.input.safeParse({ persistant: true }).success).toBe(false);
    expect(agentApi.remove.input.safeParse({}).success).toBe(false);
    expect(agentApi.enable.input.safeParse({ targets: [] }).success).toBe(false);
  });

  it('says what is wrong with the architectures of a remove, enable or disable, and the default messages are English', () => {
    const issues = (input: unknown) => agentApi.enable.input.safeParse(input).error?.issues;
    expect(issues({ targets: [] })).toEqual([
      { code: 'custom', path: ['targets'], message: 'Name at least one architecture.' },
    ]);
    expect(issues({ targets: ['nope'] })?.[0]?.message).toMatch(/^Unknown architecture "nope"/);
    expect(agentApi.remove.input.parse({ targets: ['arm64'] })).toEqual({ targets: ['aarch64'] });
    // A check of the mini API's schemas (zod/mini sets no messages by itself).
    expect(issues({ targets: [''] })?.[0]?.message).toBe('Too small: expected string to have >=1 characters');
  });

  it('takes the answers of a contract 1 agent, which sent no entries after remove, enable, disable or verify', () => {
    expect(agentApi.remove.output.parse({ removed: ['qemu-s390x'] })).toEqual({ removed: ['qemu-s390x'] });
    expect(agentApi.disable.output.parse({ changed: [] })).toEqual({ changed: [] });
    expect(agentApi.verify.output.parse({ startedAt: 'now', checks: [], passed: false })).toEqual({
      startedAt: 'now',
      checks: [],
      passed: false,
    });
  });

  it("takes the guard rails' switches, and answers of agents from before them (no warnings, no switches kept)", () => {
    expect(agentApi.applyState.input.parse({ forceNative: true, allowMissing: true })).toEqual({
      forceNative: true,
      allowMissing: true,
    });
    const before = {
      changed: false,
      actions: [],
      entries: [],
      desired: { targets: ['s390x'], disabled: [], interpreterDir: '/usr/bin', suffix: '-static' },
    };
    expect(agentApi.applyState.output.parse(before)).toMatchObject({
      warnings: [],
      desired: { forceNative: false, allowMissing: false },
    });
  });

  it('refuses answers of the wrong shape', () => {
    expect(agentApi.applyState.output.safeParse({ changed: true, actions: [] }).success).toBe(false);
    expect(
      agentApi.verify.output.safeParse({ startedAt: 'now', checks: [{ target: 'pdp11' }], passed: true })
        .success,
    ).toBe(false);
  });
});

describe('upgradeAgent', () => {
  it('names a file of the release, never a URL, with its sha256, size and version', () => {
    const input = {
      file: 'binfleet-agent-0.2.0-linux.tar.gz',
      sha256: 'a'.repeat(64),
      size: 1,
      version: '0.2.0',
    };
    expect(agentApi.upgradeAgent.input.parse(input)).toEqual(input);
    for (const file of ['https://evil.example/x.tar.gz', '../x.tar.gz', 'a/b.tar.gz'])
      expect(agentApi.upgradeAgent.input.safeParse({ ...input, file }).success).toBe(false);
    expect(agentApi.upgradeAgent.input.safeParse({ ...input, sha256: 'A'.repeat(64) }).success).toBe(false);
    expect(agentApi.upgradeAgent.input.safeParse({ ...input, url: 'x' }).success).toBe(false);
  });
});
