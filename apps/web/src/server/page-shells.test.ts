import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PageShells } from './page-shells.ts';

// A stand-in for Next on a real loopback server: it renders a page with the nonce of its request,
// as proxy.ts and the layout do, and counts its renders.
let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(
  next: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<{ url: string; shells: PageShells }> {
  let n = 0;
  const shells = new PageShells(new Set(['/fleet']), () => `freshNonce${String(++n).padStart(8, '0')}==`);
  server = createServer((req, res) => {
    const page = shells.pageOf(req);
    if (page === undefined) void next(req, res);
    else void shells.serve(page, req, res, next);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, shells };
}

function fakeNext(renders: { count: number }, over: { status?: number; cookie?: boolean } = {}) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    renders.count++;
    const nonce = `nextNonce${renders.count}abcdefghijk==`;
    res.statusCode = over.status ?? 200;
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('content-security-policy', `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'`);
    res.setHeader('x-frame-options', 'DENY');
    if (over.cookie) res.setHeader('set-cookie', 'a=b');
    res.write(`<html><script nonce="${nonce}">1</script>`);
    res.end(`<p>${req.url}</p><script nonce="${nonce}">2</script></html>`);
  };
}

describe('page shells', () => {
  it('renders a page once, then serves it with a fresh nonce in the HTML and the policy', async () => {
    const renders = { count: 0 };
    const { url } = await serve(fakeNext(renders));
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${url}/fleet`);
      answers.push({ csp: r.headers.get('content-security-policy')!, html: await r.text(), r });
    }
    expect(renders.count).toBe(1);
    const nonces = answers.map((a) => /'nonce-([^']+)'/.exec(a.csp)![1]!);
    expect(new Set(nonces).size).toBe(3);
    for (const [i, a] of answers.entries()) {
      expect(a.html).toBe(
        `<html><script nonce="${nonces[i]}">1</script><p>/fleet</p><script nonce="${nonces[i]}">2</script></html>`,
      );
      expect(a.r.headers.get('x-frame-options')).toBe('DENY');
    }
    // Compressed for clients that take gzip (fetch does), with its length.
    expect(answers[2]!.r.headers.get('content-encoding')).toBe('gzip');
  });

  it('leaves to Next what is not a kept page: other paths, queries, navigations, other methods', async () => {
    const renders = { count: 0 };
    const { url } = await serve(fakeNext(renders));
    await fetch(`${url}/fleet`);
    await fetch(`${url}/fleet?view=matrix`);
    await fetch(`${url}/fleet`, { headers: { rsc: '1' } });
    await fetch(`${url}/hosts/abc`);
    await fetch(`${url}/fleet`, { method: 'HEAD' });
    expect(renders.count).toBe(5);
    await fetch(`${url}/fleet`);
    expect(renders.count).toBe(5);
  });

  it('keeps nothing that is not a plain page: an error, or an answer with a cookie', async () => {
    for (const over of [{ status: 500 }, { cookie: true }]) {
      const renders = { count: 0 };
      const { url } = await serve(fakeNext(renders, over));
      await fetch(`${url}/fleet`);
      await fetch(`${url}/fleet`);
      expect(renders.count, JSON.stringify(over)).toBe(2);
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = undefined;
    }
  });

  it('knows the static pages of a build from its route manifest', () => {
    // The real manifest's shape, as `next build` writes it.
    expect([
      ...pathsOf({
        '/(app)/fleet/page': '/fleet',
        '/(app)/hosts/[id]/page': '/hosts/[id]',
        '/_not-found/page': '/_not-found',
        '/api/trpc/[trpc]/route': '/api/trpc/[trpc]',
        '/login/page': '/login',
      }),
    ]).toEqual(['/fleet', '/login']);
  });
});

function pathsOf(manifest: Record<string, string>): Set<string> {
  const dir = mkdtempSync(join(tmpdir(), 'binfleet-shells-'));
  try {
    mkdirSync(join(dir, '.next'));
    writeFileSync(join(dir, '.next/app-path-routes-manifest.json'), JSON.stringify(manifest));
    return PageShells.pathsOfBuild(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
