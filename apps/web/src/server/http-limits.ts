/**
 * Limits on requests, checked before a body is read or a procedure runs, by the HTTP gateway (http-gateway.ts)
 * and, for pages, Next's proxy.ts. Package uploads (`/api/packages`) stream to disk
 * under their own limit (BINFLEET_PACKAGE_MAX_BYTES) and are left out.
 */

/** Every request body but a package upload; heartbeats (facts and entries) are the largest, well under. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Calls in one tRPC batch request (the dashboard's client sends at most this many). */
export const MAX_BATCH = 20;
/**
 * Procedures callable without a session that do costly or credential work: each must come in a
 * request of its own, so one request cannot carry many sign-ins past the per-request checks.
 */
const ALONE = new Set([
  'auth.login',
  'auth.setup',
  'agentApi.join',
  'agentApi.heartbeat',
  'agentApi.callResult',
]);

export const UPLOAD_PATH = '/api/packages';

export interface LimitRefusal {
  readonly status: number;
  readonly error: string;
}

/** A body that is too large, or of unknown length (chunked): refused before it is read. */
export function bodyRefusal(method: string, pathname: string, headers: Headers): LimitRefusal | undefined {
  if (method === 'GET' || method === 'HEAD' || pathname === UPLOAD_PATH) return undefined;
  const length = headers.get('content-length');
  if (length === null) {
    return headers.has('transfer-encoding')
      ? { status: 411, error: 'Send the request with a Content-Length header.' }
      : undefined;
  }
  if (!/^\d+$/.test(length)) return { status: 400, error: 'The Content-Length header is not a number.' };
  return Number(length) > MAX_BODY_BYTES
    ? { status: 413, error: `The request body is larger than ${MAX_BODY_BYTES} bytes.` }
    : undefined;
}

/** A tRPC batch (`/api/trpc/a,b,c`) that is too long, or that carries a procedure that must be alone. */
export function batchRefusal(pathname: string, endpoint = '/api/trpc'): LimitRefusal | undefined {
  if (!pathname.startsWith(`${endpoint}/`)) return undefined;
  const procedures = decodeURIComponent(pathname.slice(endpoint.length + 1)).split(',');
  if (procedures.length > MAX_BATCH)
    return { status: 400, error: `At most ${MAX_BATCH} calls in one batch request.` };
  if (procedures.length > 1 && procedures.some((p) => ALONE.has(p)))
    return {
      status: 400,
      error: `${procedures.find((p) => ALONE.has(p))} must be sent alone, not in a batch.`,
    };
  return undefined;
}

export function refusalResponse(refusal: LimitRefusal): Response {
  return Response.json(
    { error: { message: refusal.error } },
    { status: refusal.status, headers: { 'cache-control': 'no-store' } },
  );
}
