import { describe, expect, it } from 'vitest';
import { gatewayResponse, isGatewayPath } from './http-gateway.ts';
import { MAX_BATCH, MAX_BODY_BYTES } from './http-limits.ts';
import type { ControlPlane } from './services/control-plane.ts';

// Refusals come before any route touches the control plane: one that throws on any use proves it.
const untouched = new Proxy({} as ControlPlane, {
  get: (_t, name) => {
    throw new Error(`the control plane was used (${String(name)})`);
  },
});
const ask = (path: string, init: RequestInit = {}) =>
  gatewayResponse(untouched, new Request(`http://cp.test${path}`, init), new AbortController().signal);

describe('gateway routes', () => {
  it('takes the API, uploads, dial-out and agent install paths, and leaves pages to Next', () => {
    for (const path of [
      '/api/trpc/auth.me',
      '/api/trpc/fleet.hosts,fleet.summary',
      '/api/packages',
      '/api/agent/channel',
      '/api/agent/packages/abc',
      '/agent/install.sh',
      '/agent/supported',
      '/agent/ca.pem',
      '/agent/exchange',
      '/agent/files/binfleet-agent-1.0.0-linux-x64.tar.gz',
      '/healthz',
    ])
      expect(isGatewayPath(path), path).toBe(true);
    for (const path of [
      '/',
      '/fleet',
      '/login',
      '/api/trpc',
      '/api/other',
      '/agent/files/a/b',
      '/agent/install.sh/x',
      '/_next/static/chunks/app.js',
    ])
      expect(isGatewayPath(path), path).toBe(false);
  });

  it('answers other paths with nothing, for Next to serve', async () => {
    expect(await ask('/fleet')).toBeUndefined();
  });

  it('refuses a method a route does not take, naming the one it does, with the security headers', async () => {
    const response = (await ask('/agent/install.sh', { method: 'POST', body: 'x' }))!;
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
    expect(await response.json()).toEqual({ error: { message: 'Use GET.' } });
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await ask('/api/trpc/auth.me', { method: 'PUT', body: '{}' }))!.headers.get('allow')).toBe(
      'GET, POST',
    );
  });

  it('refuses bodies over the limit and long batches before anything reads them', async () => {
    const big = await ask('/api/trpc/auth.login', {
      method: 'POST',
      headers: { 'content-length': String(MAX_BODY_BYTES + 1) },
      body: 'x',
    });
    expect(big!.status).toBe(413);
    const batch = Array.from({ length: MAX_BATCH + 1 }, () => 'auth.me').join(',');
    const long = await ask(`/api/trpc/${batch}`);
    expect(long!.status).toBe(400);
    expect(await long!.json()).toEqual({
      error: { message: `At most ${MAX_BATCH} calls in one batch request.` },
    });
  });

  it('answers /healthz without the control plane, and HEAD on a GET route as GET', async () => {
    const response = (await ask('/healthz'))!;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    expect((await ask('/healthz', { method: 'HEAD' }))!.status).toBe(200);
    expect((await ask('/agent/exchange', { method: 'HEAD' }))!.status).toBe(405);
  });
});
