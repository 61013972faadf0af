/**
 * The control plane's one error type. trpc.ts turns it into a tRPC error (one place); `message` is
 * shown to the user as is, so it says what to do.
 */
export type ControlPlaneErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'INVALID_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'TOO_LARGE'
  | 'RATE_LIMITED'
  /** The server is at capacity for this (the sign-in hash queue is full): try again shortly. */
  | 'BUSY'
  | 'AGENT_UNREACHABLE'
  | 'AGENT_FAILED'
  | 'REGISTRY_UNREACHABLE'
  | 'REGISTRY_FAILED';

export class ControlPlaneError extends Error {
  override readonly name = 'ControlPlaneError';
  constructor(
    readonly code: ControlPlaneErrorCode,
    message: string,
  ) {
    super(message);
  }
}
