/**
 * The security headers of every response, from the HTTP gateway (http-gateway.ts: the API and agent
 * routes, in every server) and from proxy.ts (pages and assets, under Next).
 * Pure: proxy.ts imports it.
 *
 * Pages get a Content-Security-Policy with a fresh nonce per request in script-src, and neither
 * 'unsafe-inline' nor 'unsafe-eval' (only `next dev` needs eval, for its own tooling): Next puts the
 * nonce on its scripts itself when the request carries the policy, and the root layout gives it to
 * Mantine's color-scheme script. Styles keep 'unsafe-inline': Mantine sets style attributes and
 * writes its CSS variables in a <style> element, and a style cannot run code.
 */
export const NONCE_HEADER = 'x-nonce';

export function contentSecurityPolicy(nonce: string, options: { dev?: boolean } = {}): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${options.dev ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** For answers that are no page (API, downloads): nothing may run or load from them. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

/** The security headers of an answer that is no page, with API_CSP, for answers written without secured(). */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  ...SECURITY_HEADERS,
  'content-security-policy': API_CSP,
};

/** A fresh nonce: 128 random bits, base64. */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/** Sets the security headers and `csp` on a response: proxy.ts on Next's, the HTTP gateway on its own. */
export function secured<T extends Response>(response: T, csp: string): T {
  response.headers.set('content-security-policy', csp);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
  return response;
}
