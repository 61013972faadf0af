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
import { ZodError } from 'zod';
import { describeDatabaseFailure } from './database-errors.ts';
import { ControlPlaneError, type ControlPlaneErrorCode } from './errors.ts';
import { hasRole, type AuthenticatedSession } from './services/auth.ts';
import type { ControlPlane } from './services/control-plane.ts';
import { DEVICE_COOKIE, DEVICE_TTL_MS } from './security/device-cookie.ts';
import { networksOf, requestOrigin, type HeaderSource } from './security/request-origin.ts';
import { wireTransformer } from './wire-serializer.ts';

export const SESSION_COOKIE = 'bf_session';
export const CSRF_HEADER = 'x-binfleet-csrf';

export interface Context {
  readonly cp: ControlPlane;
  readonly session: AuthenticatedSession | null;
  readonly sessionToken: string | undefined;
  readonly bearer: string | undefined;
  readonly csrf: string | undefined;
  /** Who is calling (for the sign-in limits), and whether over https: see requestOrigin(). */
  readonly clientAddress?: string;
  readonly https?: boolean;
  /** The device cookie, if the browser has one (see DeviceCookies). */
  readonly deviceCookie?: string;
  /** Response headers: procedures set cookies through these. */
  readonly resHeaders: Headers;
  /**
   * The request's own object, the same for each call of a batch (tRPC makes a new context object
   * per call): the fleet's read models let calls under way at once share one look at the fleet by it.
   */
  readonly reads: object;
}

/**
 * A call's context from its request's headers: the client's address from the peer headers every
 * server writes from the socket (request-origin.ts).
 */
export async function createContext(
  cp: ControlPlane,
  headers: HeaderSource,
  resHeaders: Headers,
): Promise<Context> {
  const cookies = headers.get('cookie');
  const sessionToken = cookie(cookies, SESSION_COOKIE);
  const authorization = headers.get('authorization');
  const origin = requestOrigin(headers, networksOf(cp.config.trustedProxies), undefined);
  return {
    cp,
    session: await cp.auth.authenticate(sessionToken),
    sessionToken,
    bearer: authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined,
    csrf: headers.get(CSRF_HEADER) ?? undefined,
    clientAddress: origin.address,
    https: origin.https,
    deviceCookie: cookie(cookies, DEVICE_COOKIE),
    resHeaders,
    reads: {},
  };
}

function cookie(header: string | null, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) {
      try {
        return decodeURIComponent(v.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** `Secure` whenever the request came over https, and on plain http unless BINFLEET_INSECURE_COOKIES=1. */
function cookieAttributes(ctx: Pick<Context, 'cp' | 'https'>): string[] {
  const secure = ctx.https === true || ctx.cp.config.secureCookies;
  return ['Path=/', 'HttpOnly', 'SameSite=Lax', ...(secure ? ['Secure'] : [])];
}

export function sessionCookie(ctx: Pick<Context, 'cp' | 'https'>, token: string | null): string {
  const attrs = cookieAttributes(ctx);
  return token === null
    ? [`${SESSION_COOKIE}=`, 'Max-Age=0', ...attrs].join('; ')
    : [
        `${SESSION_COOKIE}=${encodeURIComponent(token)}`,
        `Max-Age=${Math.floor(ctx.cp.config.sessionTtlMs / 1000)}`,
        ...attrs,
      ].join('; ');
}

/** Kept through sign-outs: it marks the browser, not the session. */
export function deviceCookie(ctx: Pick<Context, 'cp' | 'https'>, value: string): string {
  return [
    `${DEVICE_COOKIE}=${encodeURIComponent(value)}`,
    `Max-Age=${Math.floor(DEVICE_TTL_MS / 1000)}`,
    ...cookieAttributes(ctx),
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
  BUSY: 'SERVICE_UNAVAILABLE',
  AGENT_UNREACHABLE: 'BAD_GATEWAY',
  AGENT_FAILED: 'BAD_GATEWAY',
  REGISTRY_UNREACHABLE: 'BAD_GATEWAY',
  REGISTRY_FAILED: 'BAD_GATEWAY',
};

const t = initTRPC.context<Context>().create({
  // superjson's format, answers serialized without its walk (wire-serializer.ts).
  transformer: wireTransformer,
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

/**
 * Heartbeats: the sender as Enrolment.heartbeatSender finds it before the report is read (a host kept
 * from its last heartbeat, checked again when the heartbeat writes; any other credential looked up).
 * A kept credential revoked since is told about malformed input before it is refused.
 */
export const heartbeatProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const sender = await ctx.cp.hosts.enrolment.heartbeatSender(ctx.bearer);
  return next({ ctx: { sender } });
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
