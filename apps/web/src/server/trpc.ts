/**
 * The control plane's tRPC infrastructure: context, the error translation, and the procedures every
 * router builds on. Authorisation lives here, not in routers or pages:
 *
 * - `publicProcedure`: no session (sign-in, first-run setup, agent join).
 * - `agentProcedure`: an agent's heartbeat credential as `Authorization: Bearer`, resolved to its host.
 * - `viewerProcedure` / `operatorProcedure` / `adminProcedure`: a signed-in user with at least that
 *   role. Every mutation through them must also carry the session's CSRF secret in the
 *   `x-binfleet-csrf` header: a cross-site form or fetch can send the cookie, never that header.
 */
import { ArchTableError } from '@binfleet/arch-table';
import type { Role } from '@binfleet/db';
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { ZodError } from 'zod';
import { describeDatabaseFailure } from './database-errors.ts';
import { ControlPlaneError, type ControlPlaneErrorCode } from './errors.ts';
import { hasRole, type AuthenticatedSession } from './services/auth.ts';
import type { ControlPlane } from './services/control-plane.ts';

export const SESSION_COOKIE = 'bf_session';
export const CSRF_HEADER = 'x-binfleet-csrf';

export interface Context {
  readonly cp: ControlPlane;
  readonly session: AuthenticatedSession | null;
  readonly sessionToken: string | undefined;
  readonly bearer: string | undefined;
  readonly csrf: string | undefined;
  /** Who is calling, for the sign-in limit: see clientAddress(). */
  readonly clientAddress?: string;
  /** Response headers: procedures set cookies through these. */
  readonly resHeaders: Headers;
}

/**
 * The caller's address: the last X-Forwarded-For entry (the one the proxy in front added) when
 * BINFLEET_TRUST_PROXY=1, else the socket's peer. `next start` does not hand route handlers the
 * socket: it puts the peer in X-Forwarded-For itself, unless the client sent one (docs/security.md).
 */
export function clientAddress(cp: ControlPlane, req: Request, socketAddress: string | undefined): string {
  const forwarded = req.headers
    .get('x-forwarded-for')
    ?.split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const address =
    (cp.config.trustProxy || socketAddress === undefined ? forwarded?.at(-1) : undefined) ??
    socketAddress ??
    'unknown';
  // IPv4 peers of a dual-stack socket come as ::ffff:a.b.c.d; bounded, as it is stored per attempt.
  return address.replace(/^::ffff:(?=\d+\.)/, '').slice(0, 64);
}

export async function createContext(
  cp: ControlPlane,
  req: Request,
  resHeaders: Headers,
  socketAddress?: string,
): Promise<Context> {
  const sessionToken = cookie(req.headers.get('cookie'), SESSION_COOKIE);
  const authorization = req.headers.get('authorization');
  return {
    cp,
    session: await cp.auth.authenticate(sessionToken),
    sessionToken,
    bearer: authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined,
    csrf: req.headers.get(CSRF_HEADER) ?? undefined,
    clientAddress: clientAddress(cp, req, socketAddress),
    resHeaders,
  };
}

function cookie(header: string | null, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

export function sessionCookie(cp: ControlPlane, token: string | null): string {
  const attrs = ['Path=/', 'HttpOnly', 'SameSite=Lax', ...(cp.config.secureCookies ? ['Secure'] : [])];
  return token === null
    ? [`${SESSION_COOKIE}=`, 'Max-Age=0', ...attrs].join('; ')
    : [
        `${SESSION_COOKIE}=${encodeURIComponent(token)}`,
        `Max-Age=${Math.floor(cp.config.sessionTtlMs / 1000)}`,
        ...attrs,
      ].join('; ');
}

const TRPC_CODE: Record<ControlPlaneErrorCode, TRPCError['code']> = {
  UNAUTHENTICATED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  INVALID_INPUT: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  RATE_LIMITED: 'TOO_MANY_REQUESTS',
  AGENT_UNREACHABLE: 'BAD_GATEWAY',
  AGENT_FAILED: 'BAD_GATEWAY',
  REGISTRY_UNREACHABLE: 'BAD_GATEWAY',
  REGISTRY_FAILED: 'BAD_GATEWAY',
};

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const zod =
      error.cause instanceof ZodError
        ? error.cause.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`)
        : undefined;
    // A full disk or an unreachable database, also when it broke the context (the session lookup).
    const database = describeDatabaseFailure(error.cause);
    return {
      ...shape,
      ...(database ? { message: database } : {}),
      data: { ...shape.data, stack: undefined, ...(zod ? { issues: zod } : {}) },
    };
  },
});

/**
 * Matches by the error's own `name` as well as its class: in a Next build the control plane is
 * created from the instrumentation bundle and the route has its own copy of each module, so the
 * classes differ and `instanceof` alone turned every domain error into a 500.
 */
function isError<T extends Error>(
  cause: unknown,
  type: new (...args: never[]) => T,
  name: string,
): cause is T {
  return cause instanceof type || (cause instanceof Error && cause.name === name);
}

/** The one place a domain error becomes a tRPC error. */
const translateErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (isError(cause, ControlPlaneError, 'ControlPlaneError'))
      throw new TRPCError({ code: TRPC_CODE[cause.code], message: cause.message, cause });
    if (isError(cause, ArchTableError, 'ArchTableError'))
      throw new TRPCError({ code: 'BAD_REQUEST', message: cause.message, cause });
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(translateErrors);

export const agentProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const host = await ctx.cp.hosts.enrolment.hostForHeartbeat(ctx.bearer);
  return next({ ctx: { host } });
});

function withRole(role: Role) {
  return publicProcedure.use(async ({ ctx, type, next }) => {
    const { session } = ctx;
    if (!session) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first.' });
    if (type === 'mutation' && ctx.csrf !== session.csrfSecret) {
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: 'Missing or wrong CSRF token: reload the page and try again.',
      });
    }
    if (!hasRole(session.user, role)) {
      await ctx.cp.audit.record({
        actor: { id: session.user.id, name: session.user.username },
        action: 'auth.denied',
        outcome: 'denied',
        detail: `needs ${role}, has ${session.user.role}`,
      });
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: `This needs the ${role} role; you are ${session.user.role}. Ask an admin.`,
      });
    }
    return next({ ctx: { session, user: session.user } });
  });
}

export const viewerProcedure = withRole('viewer');
export const operatorProcedure = withRole('operator');
export const adminProcedure = withRole('admin');

/** Sign-in and setup have no session yet; the header still proves a same-origin request. */
export const unauthenticatedMutation = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.csrf) throw new TRPCError({ code: 'FORBIDDEN', message: `Missing ${CSRF_HEADER} header.` });
  return next();
});
