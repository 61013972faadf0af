import { z } from 'zod';
import { agentApi, type AgentProcedureName } from './agent-api.ts';
import { agentErrorDataSchema } from './errors.ts';

/** How a control plane reaches a host's agent: it calls the agent's URL, or the agent dials out to it. */
export const AGENT_TRANSPORTS = ['direct', 'dial-out'] as const;
export type AgentTransportKind = (typeof AGENT_TRANSPORTS)[number];
export const agentTransportSchema = z.enum(AGENT_TRANSPORTS);

/**
 * The channel a dial-out agent holds open: `GET <server>/api/agent/channel` with its heartbeat
 * credential as `Authorization: Bearer`, answered with server-sent events (see channelEventSchema).
 */
export const CHANNEL_PATH = 'api/agent/channel';

/** The largest result an agent may send back for one call (JSON text). */
export const MAX_CALL_RESULT_BYTES = 512 * 1024;

const procedureNames = Object.keys(agentApi) as [AgentProcedureName, ...AgentProcedureName[]];

/** One call for the agent: the row's id and attempt go back with its result. */
export const agentCallSchema = z.object({
  id: z.string().min(1).max(64),
  attempt: z.number().int().min(1),
  procedure: z.enum(procedureNames),
  // Absent for procedures that take none (JSON has no undefined).
  input: z.unknown().optional(),
});

/** The `data` of each server-sent event on the channel, by its `event` name. */
export const channelEventSchemas = {
  /** First on every channel: how often the server speaks at least (silence for 3x this: reconnect). */
  hello: z.object({ channelId: z.string(), keepaliveMs: z.number().int().positive() }),
  call: agentCallSchema,
  /** The server ends this channel (replaced by a newer one, or shutting down); reconnect unless replaced. */
  close: z.object({ reason: z.string(), reconnect: z.boolean() }),
} as const;

/** The longest error message a call's outcome carries. */
export const MAX_CALL_ERROR_MESSAGE = 4000;

/** What an agent answers a call with: the procedure's output, or its error as its HTTP API would send it. */
export const callOutcomeSchema = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), output: z.unknown() }),
  z.strictObject({
    ok: z.literal(false),
    error: z.strictObject({ message: z.string().max(MAX_CALL_ERROR_MESSAGE), data: agentErrorDataSchema }),
  }),
]);

export const callResultInputSchema = z
  .strictObject({
    callId: z.string().min(1).max(64),
    attempt: z.number().int().min(1),
    outcome: callOutcomeSchema,
  })
  .refine((r) => fitsCallResult(r.outcome), `the result is larger than ${MAX_CALL_RESULT_BYTES} bytes`);

export const callResultAnswerSchema = z.object({
  /** false: the call was already answered, is another attempt's or not this host's; nothing changed. */
  accepted: z.boolean(),
});

export type AgentCall = z.output<typeof agentCallSchema>;
export type CallOutcome = z.output<typeof callOutcomeSchema>;

/** Whether an outcome is small enough for a channel result: the agent checks before sending, the control plane on receipt. */
export function fitsCallResult(outcome: CallOutcome): boolean {
  return JSON.stringify(outcome).length <= MAX_CALL_RESULT_BYTES;
}
