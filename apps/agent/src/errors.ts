import type { AgentErrorCode } from '@binfleet/agent-contract';
import { DebError } from '@binfleet/deb';

/**
 * The agent's one error type. `code` is stable (the contract lists them, as API answers carry it) and
 * maps to an HTTP/tRPC status in one place (server/trpc.ts) and to an exit status in the CLI;
 * `message` tells the user what to do.
 */
export class AgentError extends Error {
  override readonly name = 'AgentError';
  constructor(
    readonly code: AgentErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function isAgentError(error: unknown): error is AgentError {
  return error instanceof AgentError;
}

/** A refusal of @binfleet/deb as an AgentError with its code and message; any other error as it is. */
export function asAgentError(error: unknown): unknown {
  return error instanceof DebError ? new AgentError(error.code, error.message) : error;
}
