import { NextResponse, type NextRequest } from 'next/server';
import { bodyRefusal, refusalResponse } from './server/http-limits.ts';
import {
  API_CSP,
  contentSecurityPolicy,
  newNonce,
  NONCE_HEADER,
  secured,
} from './shared/security-headers.ts';

/**
 * Every request Next serves but the tRPC API's passes here first (under scripts/serve.ts: pages and
 * assets, the gateway answering the API and agent routes before Next): bodies over the limit are
 * refused before any route reads them (uploads to /api/packages aside), and every response gets the
 * security headers. Pages get a CSP with a per-request nonce; API routes and downloads (/api/*,
 * /agent/*: install scripts and binaries fetched with curl) get one that allows nothing, and are
 * otherwise passed through untouched.
 */
export function proxy(request: NextRequest) {
  const { pathname } = request.nextUrl;
  const refusal = bodyRefusal(request.method, pathname, request.headers);
  if (refusal) return secured(refusalResponse(refusal), API_CSP);
  if (pathname.startsWith('/api/') || pathname.startsWith('/agent/') || pathname.startsWith('/_next/static/'))
    return secured(NextResponse.next(), API_CSP);
  const nonce = newNonce();
  // Next's own switch, not configuration.
  // eslint-disable-next-line no-restricted-properties
  const csp = contentSecurityPolicy(nonce, { dev: process.env.NODE_ENV === 'development' });
  const headers = new Headers(request.headers);
  headers.set(NONCE_HEADER, nonce);
  headers.set('content-security-policy', csp);
  return secured(NextResponse.next({ request: { headers } }), csp);
}

// The tRPC route (dashboard reads, agents' heartbeats: most requests) refuses bodies and sets these
// headers itself: passing here cost each of its requests ~1.2 ms of CPU (docs/operations.md).
export const config = { matcher: '/((?!api/trpc/).*)' };
