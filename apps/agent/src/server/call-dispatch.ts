import {
  fitsCallResult,
  MAX_CALL_ERROR_MESSAGE,
  MAX_CALL_RESULT_BYTES,
  type AgentCall,
  type CallOutcome,
} from '@binfleet/agent-contract';
import { TRPCError } from '@trpc/server';
import type { AgentService } from '../services/agent-service.ts';
import { agentRouter } from './router.ts';
import { agentErrorOf, createCallerFactory } from './trpc.ts';

type Procedure = (input: unknown) => Promise<unknown>;

/**
 * Runs a call that came over the dial-out channel through the same router the HTTP API serves: the
 * contract's input and output parsers, the services, and the one error translator. The channel is
 * authenticated (the agent opened it to its control plane with its credential), so is every call.
 */
export function callDispatcher(agent: AgentService): (call: AgentCall) => Promise<CallOutcome> {
  const caller = createCallerFactory(agentRouter)({ agent, authenticated: true }) as unknown as Record<
    string,
    Procedure
  >;
  return async (call) => {
    let output: unknown;
    try {
      output = await caller[call.procedure]!(call.input);
    } catch (error) {
      const trpcError =
        error instanceof TRPCError
          ? error
          : new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: (error as Error).message, cause: error });
      const { message, data } = agentErrorOf(trpcError, call.procedure);
      return { ok: false, error: { message: message.slice(0, MAX_CALL_ERROR_MESSAGE), data } };
    }
    // A result the control plane would refuse (the contract's own measure) is answered as the error it
    // is, not left unanswered.
    if (!fitsCallResult({ ok: true, output }))
      return {
        ok: false,
        error: {
          message: `The answer to ${call.procedure} is larger than the ${MAX_CALL_RESULT_BYTES} bytes a channel result may carry: narrow the request.`,
          data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413, path: call.procedure, agentCode: 'TOO_LARGE' },
        },
      };
    return { ok: true, output };
  };
}
