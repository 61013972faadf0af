import { DebError } from '@binfleet/deb';

/**
 * The agent's one error type. `code` is stable and maps to an HTTP/tRPC status in one place
 * (server/trpc.ts) and to an exit status in the CLI; `message` tells the user what to do.
 */
export type AgentErrorCode =
  | 'INVALID_INPUT'
  | 'UNKNOWN_ARCH'
  | 'NOT_MOUNTED'
  | 'PERMISSION_DENIED'
  | 'ENTRY_EXISTS'
  | 'ENTRY_CONFLICT'
  | 'ENTRY_NOT_FOUND'
  | 'KERNEL_REJECTED'
  | 'INTERPRETER_MISSING'
  | 'DOCKER_UNAVAILABLE'
  | 'IMAGE_MISSING'
  | 'DOCKER_FAILED'
  | 'BUSY'
  | 'INVALID_PACKAGE'
  | 'TOO_LARGE'
  | 'BUILD_NOT_FOUND'
  | 'NOT_BUILDER'
  | 'CONTROL_PLANE_UNREACHABLE'
  | 'CONTROL_PLANE_REFUSED'
  | 'CONTROL_PLANE_FAILED'
  | 'STATE_CORRUPT'
  | 'INTERNAL';

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
