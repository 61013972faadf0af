/**
 * The agent's tRPC infrastructure: the context every procedure gets, the one procedure builder the
 * routers use, and the one place where the agent's errors become tRPC (and so HTTP) errors.
 *
 * Layers, outside in:
 *   1. http-server.ts: bearer token, body size and JSON syntax are checked before tRPC sees the
 *      request (a wrong token never reaches a procedure, not even its input parser).
 *   2. Input parsers (zod, built from the arch table) reject bad input with BAD_REQUEST before any
 *      service runs, so invalid input never reaches the kernel.
 *   3. `agentProcedure` translates AgentError (and the arch table's errors) thrown by services into
 *      TRPCError codes, here and nowhere else.
 *
 * Routers import only `router`, `contractProcedure` and `createCallerFactory` from this file; the
 * dial-out channel (call-dispatch.ts) also `agentErrorOf`.
 */
import { syncParser, type AgentErrorCode, type AgentErrorData } from '@binfleet/agent-contract';
import { ArchTableError } from '@binfleet/arch-table';
import { initTRPC, TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { z } from 'zod';
import { AgentError } from '../errors.ts';
import type { AgentService } from '../services/agent-service.ts';

export interface AgentContext {
  readonly agent: AgentService;
  /**
   * Set by the HTTP layer once the bearer token matched. Procedures refuse to run without it, so
   * mounting the router behind a server that forgot the check fails closed instead of open.
   */
  readonly authenticated: boolean;
}

/**
 * Every AgentError code and the tRPC code (HTTP status) a client gets for it. A Record, so that a
 * new AgentErrorCode does not compile until someone decides how the API reports it.
 */
const TRPC_CODE_OF: Record<AgentErrorCode, TRPC_ERROR_CODE_KEY> = {
  INVALID_INPUT: 'BAD_REQUEST',
  UNKNOWN_ARCH: 'BAD_REQUEST',
  ENTRY_CONFLICT: 'CONFLICT',
  ENTRY_EXISTS: 'CONFLICT',
  ENTRY_NOT_FOUND: 'NOT_FOUND',
  BUILD_NOT_FOUND: 'NOT_FOUND',
  // The file exists but is no package a build can use.
  INVALID_PACKAGE: 'UNPROCESSABLE_CONTENT',
  TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  // 429 rather than 409: the same request succeeds unchanged once the other operation ends.
  BUSY: 'TOO_MANY_REQUESTS',
  PERMISSION_DENIED: 'FORBIDDEN',
  NOT_MOUNTED: 'PRECONDITION_FAILED',
  INTERPRETER_MISSING: 'PRECONDITION_FAILED',
  NATIVE_TARGET: 'PRECONDITION_FAILED',
  ENTRY_OVERLAP: 'CONFLICT',
  DOCKER_UNAVAILABLE: 'PRECONDITION_FAILED',
  IMAGE_MISSING: 'PRECONDITION_FAILED',
  NOT_BUILDER: 'PRECONDITION_FAILED',
  // The request was well-formed; this kernel refuses it (e.g. a flag it does not know).
  KERNEL_REJECTED: 'UNPROCESSABLE_CONTENT',
  DOCKER_FAILED: 'BAD_GATEWAY',
  REGISTRY_UNREACHABLE: 'BAD_GATEWAY',
  REGISTRY_REFUSED: 'BAD_GATEWAY',
  STATE_CORRUPT: 'INTERNAL_SERVER_ERROR',
  // Bad checksum, download or unpack failure, an install that cannot upgrade in place: the agent runs on.
  UPGRADE_FAILED: 'PRECONDITION_FAILED',
  // Raised by the agent's own link to the control plane, never by an API call; listed for completeness.
  CONTROL_PLANE_UNREACHABLE: 'BAD_GATEWAY',
  CONTROL_PLANE_REFUSED: 'BAD_GATEWAY',
  CONTROL_PLANE_FAILED: 'BAD_GATEWAY',
  INTERNAL: 'INTERNAL_SERVER_ERROR',
};

/** The one translator. The AgentError stays the cause, so the formatter can expose its code. */
function toTRPCError(error: AgentError | ArchTableError): TRPCError {
  const code = error instanceof AgentError ? TRPC_CODE_OF[error.code] : 'BAD_REQUEST';
  return new TRPCError({ code, message: error.message, cause: error });
}

/** zod's own message is a JSON dump of its issues; clients get one readable line instead. */
function describeIssues(error: z.ZodError): string {
  const issues = error.issues.map(
    (issue) => (issue.path.length ? `${issue.path.join('.')}: ` : '') + issue.message,
  );
  return `Invalid input: ${issues.join('; ')}`;
}

/**
 * What a failed procedure answers, message and data: the HTTP API's error formatter and the dial-out
 * channel's results both send this, so the control plane reads one shape whichever way it came.
 */
export function agentErrorOf(error: TRPCError, path?: string): { message: string; data: AgentErrorData } {
  const cause = error.cause;
  return {
    message: cause instanceof z.ZodError ? describeIssues(cause) : error.message,
    data: {
      code: error.code,
      httpStatus: getHTTPStatusCodeFromError(error),
      ...(path ? { path } : {}),
      // The agent's own code (ENTRY_CONFLICT, BUSY...) and its details (what differs, what is
      // missing), for clients that act on them, e.g. the control plane retrying after BUSY.
      agentCode:
        cause instanceof AgentError ? cause.code : cause instanceof ArchTableError ? 'INVALID_INPUT' : null,
      details: cause instanceof AgentError ? (cause.details ?? null) : null,
    },
  };
}

const t = initTRPC.context<AgentContext>().create({
  // Never send stack traces to clients, whatever NODE_ENV says.
  isDev: false,
  errorFormatter({ shape, error }) {
    const { message, data } = agentErrorOf(error);
    return {
      ...shape,
      message,
      data: { ...shape.data, agentCode: data.agentCode, details: data.details } satisfies AgentErrorData,
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** The procedure every agent route is built on: authenticated, with errors translated. */
const agentProcedure = t.procedure.use(async ({ ctx, next }) => {
  if (!ctx.authenticated) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Send Authorization: Bearer <agent token>.' });
  }
  const result = await next();
  if (
    !result.ok &&
    (result.error.cause instanceof AgentError || result.error.cause instanceof ArchTableError)
  ) {
    throw toTRPCError(result.error.cause);
  }
  return result;
});

/** `agentProcedure` with one procedure of the contract's table: its input parsed before, its answer after. */
export const contractProcedure = <I extends z.ZodType, O extends z.ZodType>(procedure: {
  readonly input: I;
  readonly output: O;
}) => agentProcedure.input(syncParser(procedure.input)).output(syncParser(procedure.output));
