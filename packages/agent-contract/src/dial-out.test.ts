import { describe, expect, it } from 'vitest';
import { agentCallSchema, callResultInputSchema, MAX_CALL_RESULT_BYTES } from './dial-out.ts';
import { joinInputSchema } from './control-plane-api.ts';

const report = { hostname: 'h', facts: {}, entries: [] };

describe('the dial-out contract', () => {
  it('takes a call of a procedure of the agent API, with or without input, and no other', () => {
    expect(agentCallSchema.parse({ id: 'c', attempt: 1, procedure: 'status' })).toEqual({
      id: 'c',
      attempt: 1,
      procedure: 'status',
    });
    expect(agentCallSchema.safeParse({ id: 'c', attempt: 1, procedure: 'exec', input: 'ls' }).success).toBe(
      false,
    );
  });

  it('refuses a result that is malformed, of attempt 0, or larger than the limit', () => {
    const ok = { callId: 'c', attempt: 1, outcome: { ok: true, output: { a: 1 } } };
    expect(callResultInputSchema.safeParse(ok).success).toBe(true);
    expect(callResultInputSchema.safeParse({ ...ok, attempt: 0 }).success).toBe(false);
    expect(callResultInputSchema.safeParse({ ...ok, outcome: { ok: 'yes' } }).success).toBe(false);
    expect(callResultInputSchema.safeParse({ ...ok, extra: 1 }).success).toBe(false);
    const big = { ...ok, outcome: { ok: true, output: 'x'.repeat(MAX_CALL_RESULT_BYTES) } };
    expect(callResultInputSchema.safeParse(big).success).toBe(false);
  });

  it('joins a direct agent only with its URL, a dial-out one without', () => {
    const join = { joinToken: 't', agentId: 'agent-0001', ...report };
    expect(joinInputSchema.safeParse(join).success).toBe(false);
    expect(joinInputSchema.parse({ ...join, agentUrl: 'http://10.0.0.2:7475' }).transport).toBe('direct');
    expect(joinInputSchema.parse({ ...join, transport: 'dial-out' }).transport).toBe('dial-out');
  });
});
