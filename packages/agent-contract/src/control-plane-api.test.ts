import { describe, expect, it } from 'vitest';
import {
  heartbeatAnswerSchema,
  heartbeatInputSchema,
  joinAnswerSchema,
  joinInputSchema,
} from './control-plane-api.ts';
import { CONTRACT_VERSION, reportedContractVersion } from './version.ts';

const beat = {
  hostname: 'build-07',
  facts: { agentVersion: '0.1.0' },
  entries: [
    {
      name: 'qemu-aarch64',
      enabled: true,
      interpreter: '/usr/bin/qemu-aarch64-static',
      flags: 'F',
      type: 'M',
      offset: 0,
      magic: '7f454c46',
    },
  ],
};

describe('join and heartbeat', () => {
  it('take what a contract 1 agent sends: no versions, entries dated now', () => {
    expect(heartbeatInputSchema.parse(beat)).toEqual({ ...beat, entriesAgeMs: 0 });
  });

  it('take a newer agent: fields this version does not know are dropped, not refused', () => {
    const newer = {
      ...beat,
      facts: { contractVersion: CONTRACT_VERSION + 1, agentVersion: '9.0.0' },
      gpu: { count: 2 },
    };
    const parsed = heartbeatInputSchema.parse(newer);
    expect(reportedContractVersion(parsed)).toBe(CONTRACT_VERSION + 1);
    expect(parsed.facts).toMatchObject({ agentVersion: '9.0.0' });
    expect(parsed).not.toHaveProperty('gpu');
    expect(
      joinInputSchema.safeParse({
        ...newer,
        joinToken: 'bfj_x',
        agentId: 'agent-0001',
        agentUrl: 'http://10.0.0.7:7475',
      }).success,
    ).toBe(true);
  });

  it('refuse malformed reports: too many entries, a bad entry, huge facts', () => {
    const bad = [
      { ...beat, entries: Array.from({ length: 513 }, () => beat.entries[0]) },
      { ...beat, entries: [{ ...beat.entries[0], magic: 'x'.repeat(513) }] },
      { ...beat, facts: { blob: 'x'.repeat(70_000) } },
      { ...beat, hostname: '' },
    ];
    for (const report of bad) expect(heartbeatInputSchema.safeParse(report).success).toBe(false);
  });

  it('a heartbeat answer may carry a rotated credential; answers without one (older control planes) still parse', () => {
    const answer = { ok: true as const, heartbeatIntervalMs: 1000 };
    expect(heartbeatAnswerSchema.parse(answer)).toEqual(answer);
    const newCredential = { agentToken: `bfa_${'a'.repeat(43)}`, heartbeatToken: `bfa_${'b'.repeat(43)}` };
    expect(heartbeatAnswerSchema.parse({ ...answer, newCredential })).toEqual({ ...answer, newCredential });
    // An agent from before rotations parses answers without the field, and drops it: it keeps its pair.
    const before = heartbeatAnswerSchema.omit({ newCredential: true });
    expect(before.parse({ ...answer, newCredential })).toEqual(answer);
    // One an agent could not present again (too short to be safe, or not fit for a header) is refused.
    for (const agentToken of ['short', `has a space ${'x'.repeat(30)}`])
      expect(
        heartbeatAnswerSchema.safeParse({ ...answer, newCredential: { ...newCredential, agentToken } })
          .success,
      ).toBe(false);
  });

  it('a heartbeat names unchanged facts or entries by digest, in place of them, never both or neither', () => {
    const digest = 'ab'.repeat(32);
    const named = { hostname: 'build-07', unchanged: { facts: digest, entries: digest } };
    expect(heartbeatInputSchema.parse(named)).toEqual({ ...named, entriesAgeMs: 0 });
    expect(heartbeatInputSchema.safeParse({ ...beat, unchanged: { facts: digest } }).success).toBe(false);
    const { facts: _facts, ...noFacts } = beat;
    expect(heartbeatInputSchema.safeParse(noFacts).error?.issues.map((i) => i.path.join('.'))).toEqual([
      'facts',
    ]);
    expect(heartbeatInputSchema.safeParse({ ...noFacts, unchanged: { facts: digest } }).success).toBe(true);
    // Only what a control plane answers: a SHA-256 in hex.
    expect(heartbeatInputSchema.safeParse({ ...noFacts, unchanged: { facts: 'x' } }).success).toBe(false);
    // A join carries its facts and entries, always.
    const join = { ...named, joinToken: 'bfj_x', agentId: 'agent-0001', agentUrl: 'http://10.0.0.7:7475' };
    expect(joinInputSchema.safeParse(join).success).toBe(false);
    // Answers: `held` or `resend`, both absent from older control planes.
    const answer = { ok: true as const, heartbeatIntervalMs: 1000 };
    const held = { facts: digest, entries: digest };
    expect(heartbeatAnswerSchema.parse({ ...answer, held })).toEqual({ ...answer, held });
    expect(heartbeatAnswerSchema.parse({ ...answer, resend: true })).toEqual({ ...answer, resend: true });
  });

  it('answers without the credential the agent needs are refused', () => {
    const result = joinAnswerSchema.safeParse({
      hostId: 'h',
      heartbeatToken: 't',
      heartbeatIntervalMs: 1000,
    });
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['agentToken']);
  });
});
