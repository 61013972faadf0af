import { readFileSync } from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

type NextHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** A page's HTML as Next rendered it once, cut at its nonce, and the headers it came with. */
interface Shell {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string | string[]]>;
  /** The HTML around every occurrence of the nonce it was rendered with. */
  readonly body: readonly string[];
  /** The Content-Security-Policy header around that nonce. */
  readonly csp: readonly string[];
}

/** Headers the web server writes itself for a kept shell. */
const NOT_KEPT = new Set([
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'date',
]);
/** Requests of a client-side navigation or prefetch (Next answers them with RSC payloads, not HTML). */
const NEXT_ROUTER_HEADERS = [
  'rsc',
  'next-router-state-tree',
  'next-router-prefetch',
  'next-router-segment-prefetch',
  'next-action',
  'next-url',
];
const MAX_SHELL_BYTES = 1024 * 1024;
/** The user agent a shell is rendered for: a browser's, whoever asked first. */
const SHELL_USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) binfleet-page-shell';

/**
 * Page HTML rendered once per page and served again with a fresh CSP nonce. The pages are shells:
 * they read nothing on the server but the nonce (every figure comes over tRPC from the browser), so
 * Next renders the same HTML for everyone, byte for byte, but for the nonce, which is random per
 * response. Rendering it again cost each page load ~8 ms of CPU; a kept shell is the same HTML with
 * a new nonce put in wherever the old one was, in the body and in the CSP header, so every response
 * still carries a nonce no one saw before and the policy is unchanged.
 *
 * Kept only for the app's pages without a dynamic segment, asked for with GET, without a query
 * string and without Next's navigation headers, when Next answered 200 with HTML, no cookie, and the
 * nonce in both the policy and the page: anything else is Next's to answer every time. Shells live as
 * long as the process (a new build is a new process).
 */
export class PageShells {
  private readonly shells = new Map<string, Shell>();

  constructor(
    /** The paths of the app's pages without a dynamic segment, e.g. /fleet. */
    private readonly paths: ReadonlySet<string>,
    private readonly newNonce: () => string,
  ) {}

  /** The static page paths of the built app in `dir` (`next build`'s route manifest). */
  static pathsOfBuild(dir: string): Set<string> {
    const manifest = JSON.parse(
      readFileSync(join(dir, '.next/app-path-routes-manifest.json'), 'utf8'),
    ) as Record<string, string>;
    return new Set(
      Object.entries(manifest)
        .filter(([file, path]) => file.endsWith('/page') && !path.includes('[') && !path.startsWith('/_'))
        .map(([, path]) => path),
    );
  }

  /** The page a request may get a kept shell of, or undefined: Next answers it. */
  pageOf(req: IncomingMessage): string | undefined {
    if (req.method !== 'GET') return undefined;
    const path = req.url ?? '';
    if (!this.paths.has(path)) return undefined;
    for (const name of NEXT_ROUTER_HEADERS) if (req.headers[name] !== undefined) return undefined;
    return path;
  }

  /**
   * Answers a request for `page` (pageOf said so): from its shell, or through Next, keeping Next's
   * answer as the shell when it is one.
   */
  async serve(page: string, req: IncomingMessage, res: ServerResponse, next: NextHandler): Promise<void> {
    const shell = this.shells.get(page);
    if (shell) {
      this.send(shell, req, res);
      return;
    }
    // Uncompressed, so that the HTML can be kept (this answer goes out so), and rendered as for any
    // browser: Next renders some of a page differently for crawlers, by their user agent.
    req.headers['accept-encoding'] = 'identity';
    req.headers['user-agent'] = SHELL_USER_AGENT;
    const captured = capture(res);
    await next(req, res);
    await captured.done;
    const kept = shellOf(captured);
    if (kept) this.shells.set(page, kept);
  }

  private send(shell: Shell, req: IncomingMessage, res: ServerResponse): void {
    const nonce = this.newNonce();
    const html = Buffer.from(shell.body.join(nonce));
    const headers: OutgoingHttpHeaders = Object.fromEntries(shell.headers);
    headers['content-security-policy'] = shell.csp.join(nonce);
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? gzipSync(html, { level: 1 }) : html;
    if (gzip) headers['content-encoding'] = 'gzip';
    headers['content-length'] = body.length;
    res.writeHead(shell.status, headers);
    res.end(body);
  }
}

interface Captured {
  readonly res: ServerResponse;
  readonly chunks: Buffer[];
  readonly writeHeadHeaders: OutgoingHttpHeaders;
  /** Settles when the response ended or closed. */
  readonly done: Promise<void>;
  tooLarge: boolean;
}

/** Records what Next writes to `res` (the bytes still go to the client). */
function capture(res: ServerResponse): Captured {
  const captured: Captured = {
    res,
    chunks: [],
    writeHeadHeaders: {},
    done: new Promise((resolve) => res.once('close', resolve).once('finish', resolve)),
    tooLarge: false,
  };
  let size = 0;
  const keep = (chunk: unknown, encoding?: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function' || captured.tooLarge) return;
    const buffer =
      typeof chunk === 'string'
        ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
        : Buffer.from(chunk as Uint8Array);
    size += buffer.length;
    if (size > MAX_SHELL_BYTES) captured.tooLarge = true;
    else captured.chunks.push(buffer);
  };
  const { write, end, writeHead } = res;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    keep(chunk, rest[0]);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof res.write;
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    keep(chunk, rest[0]);
    return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as typeof res.end;
  res.writeHead = function (this: ServerResponse, status: number, ...rest: unknown[]) {
    const headers = rest.find((r) => typeof r === 'object' && r !== null && !Array.isArray(r));
    if (headers) Object.assign(captured.writeHeadHeaders, headers);
    return (writeHead as (...a: unknown[]) => ServerResponse).call(this, status, ...rest);
  } as typeof res.writeHead;
  return captured;
}

/** The shell Next's answer makes, or undefined when it is not one to keep. */
function shellOf(c: Captured): Shell | undefined {
  const { res } = c;
  if (!res.writableFinished || c.tooLarge || res.statusCode !== 200) return undefined;
  const all: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries({ ...res.getHeaders(), ...c.writeHeadHeaders }))
    all[name.toLowerCase()] = value;
  const type = String(all['content-type'] ?? '');
  const encoding = all['content-encoding'];
  if (
    !type.startsWith('text/html') ||
    all['set-cookie'] !== undefined ||
    (encoding && encoding !== 'identity')
  )
    return undefined;
  const csp = String(all['content-security-policy'] ?? '');
  const nonce = /'nonce-([A-Za-z0-9+/=]{16,})'/.exec(csp)?.[1];
  if (!nonce) return undefined;
  const html = Buffer.concat(c.chunks).toString('utf8');
  if (!html.includes(`nonce="${nonce}"`)) return undefined;
  const headers = Object.entries(all)
    .filter(
      ([name, value]) => value !== undefined && !NOT_KEPT.has(name) && name !== 'content-security-policy',
    )
    .map(([name, value]) => [name, Array.isArray(value) ? value.map(String) : String(value)] as const);
  // The nonce anywhere else would go out again to everyone: not a shell.
  if (headers.some(([, value]) => String(value).includes(nonce))) return undefined;
  return { status: 200, headers, body: html.split(nonce), csp: csp.split(nonce) };
}
