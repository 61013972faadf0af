import { z } from 'zod';

/** The agent's error codes: what its answers carry as `agentCode`, for callers that act on them. */
export const AGENT_ERROR_CODES = [
  'INVALID_INPUT',
  'UNKNOWN_ARCH',
  'NOT_MOUNTED',
  'PERMISSION_DENIED',
  'ENTRY_EXISTS',
  'ENTRY_CONFLICT',
  'ENTRY_NOT_FOUND',
  'KERNEL_REJECTED',
  'INTERPRETER_MISSING',
  'NATIVE_TARGET',
  'ENTRY_OVERLAP',
  'DOCKER_UNAVAILABLE',
  'IMAGE_MISSING',
  'DOCKER_FAILED',
  'REGISTRY_UNREACHABLE',
  'REGISTRY_REFUSED',
  'BUSY',
  'INVALID_PACKAGE',
  'TOO_LARGE',
  'BUILD_NOT_FOUND',
  'NOT_BUILDER',
  'CONTROL_PLANE_UNREACHABLE',
  'CONTROL_PLANE_REFUSED',
  'CONTROL_PLANE_FAILED',
  'STATE_CORRUPT',
  'UPGRADE_FAILED',
  'INTERNAL',
] as const;

export type AgentErrorCode = (typeof AGENT_ERROR_CODES)[number];

/**
 * The `data` of an agent API error, besides tRPC's own (code, httpStatus, path). `agentCode` is a
 * string, not the enum: a newer agent may answer with a code this side does not know yet.
 */
export const agentErrorDataSchema = z.object({
  /** tRPC's code, e.g. TOO_MANY_REQUESTS for BUSY. */
  code: z.string(),
  httpStatus: z.number().optional(),
  /** The procedure called. */
  path: z.string().optional(),
  /** The agent's own code (ENTRY_CONFLICT, BUSY...), null for errors not of its making. */
  agentCode: z.string().nullable().optional(),
  /** What differs, what is missing: for callers that act on it. */
  details: z.record(z.string(), z.unknown()).nullable().optional(),
});

export type AgentErrorData = z.output<typeof agentErrorDataSchema>;
