import type { Host } from '@binfleet/db';
import { ControlPlaneError, type ControlPlaneErrorCode } from '../errors.ts';
import { AgentCallFailure } from './agent-transport.ts';

/** A call to an agent that failed, in words for a job row, a build row or the caller. */
export class AgentCallError extends ControlPlaneError {
  constructor(
    code: ControlPlaneErrorCode,
    message: string,
    /** Worth retrying: the agent's operations are idempotent, and it may be back or free soon. */
    readonly transient: boolean,
    /** The agent's own code (BUSY, BUILD_NOT_FOUND...), when it answered with one. */
    readonly agentCode?: string,
  ) {
    super(code, message);
  }
}

/**
 * The one translator of failed agent calls: plain words, what to do. `timedOutAfterMs` is set when
 * the call was given up for taking too long.
 */
export function translateAgentError(
  host: Pick<Host, 'hostname' | 'agentUrl'>,
  error: unknown,
  timedOutAfterMs?: number,
): AgentCallError {
  const { hostname } = host;
  if (timedOutAfterMs !== undefined) {
    return new AgentCallError(
      'AGENT_UNREACHABLE',
      `The agent on ${hostname} did not answer within ${Math.round(timedOutAfterMs / 1000)} s: check that it is running and not overloaded.`,
      true,
    );
  }
  if (!(error instanceof AgentCallFailure)) {
    return new AgentCallError(
      'AGENT_UNREACHABLE',
      `The agent on ${hostname} could not be reached: ${(error as Error).message}`,
      true,
    );
  }
  const { failure } = error;
  switch (failure.kind) {
    case 'unreachable':
      return new AgentCallError(
        'AGENT_UNREACHABLE',
        `The agent on ${hostname} at ${host.agentUrl} is unreachable${failure.reason ? ` (${failure.reason})` : ''}: check that binfleet-agent is running there and the address is right.`,
        true,
      );
    case 'malformed':
      return new AgentCallError(
        'AGENT_FAILED',
        `The agent on ${hostname} answered ${failure.procedure} with something this control plane does not understand (${error.message}): upgrade binfleet-agent there, or this control plane.`,
        false,
      );
    case 'refused': {
      const agentCode = failure.data.agentCode ?? undefined;
      if (failure.data.code === 'UNAUTHORIZED')
        return new AgentCallError(
          'AGENT_FAILED',
          `The agent on ${hostname} refused our credential: rotate its credential (host page > More host actions > Rotate credential; the agent gets the new one with its next heartbeat) or re-join it.`,
          false,
          agentCode,
        );
      if (failure.data.code === 'TOO_MANY_REQUESTS')
        return new AgentCallError(
          'RATE_LIMITED',
          `The agent on ${hostname} is busy: ${error.message}`,
          true,
          agentCode,
        );
      return new AgentCallError('AGENT_FAILED', `${hostname}: ${error.message}`, false, agentCode);
    }
  }
}
