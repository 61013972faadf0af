import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { hostArchOf } from '@binfleet/arch-table';
import { ControlPlaneError } from './errors.ts';
import { normalizePublicUrl, publicUrlProblem } from './security/public-url.ts';
import { renderInstallScript } from './services/agent-install/install-script.ts';
import type { ControlPlane } from './services/control-plane.ts';
import { networksOf, requestOrigin } from './security/request-origin.ts';

/**
 * The public routes a host installs the agent through (no session: a host has none). GET
 * /agent/install.sh, GET /agent/supported, GET /agent/files/NAME, POST /agent/exchange. Errors are
 * one line of plain text the installer prints as is.
 */
const STATUS: Partial<Record<ControlPlaneError['code'], number>> = {
  UNAUTHENTICATED: 401,
  INVALID_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  TOO_LARGE: 413,
};

const text = (status: number, body: string, headers: Record<string, string> = {}) =>
  new Response(body.endsWith('\n') ? body : `${body}\n`, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });

async function answer(work: () => Promise<Response>): Promise<Response> {
  try {
    return await work();
  } catch (error) {
    // By name: Next bundles the services in chunks of their own, each with its own copy of the class.
    if (error instanceof Error && error.name === 'ControlPlaneError') {
      const { code, message } = error as ControlPlaneError;
      return text(STATUS[code] ?? 500, message);
    }
    console.error(error);
    return text(500, 'The control plane failed to answer: see its log.');
  }
}

/**
 * Where hosts reach us: the setting, else the address this request was sent to (its Host header:
 * what the host itself used; it only shapes the answer to this one request).
 */
async function publicUrl(cp: ControlPlane, req: Request): Promise<string> {
  const set = (await cp.settings.publicUrl()).url;
  if (set) return set;
  const url = new URL(req.url);
  const asked = `${url.protocol}//${req.headers.get('host') ?? url.host}`;
  return publicUrlProblem(asked) ? url.origin : normalizePublicUrl(asked);
}

export function installScript(cp: ControlPlane, req: Request): Promise<Response> {
  return answer(async () => {
    const script = renderInstallScript({
      publicUrl: await publicUrl(cp, req),
      manifest: await cp.agentRelease.manifest(),
    });
    return text(200, script, { 'content-type': 'text/x-shellscript; charset=utf-8' });
  });
}

/** Whether this control plane installs an agent on the host the query describes. */
export function supported(cp: ControlPlane, req: Request): Promise<Response> {
  return answer(async () => {
    const q = new URL(req.url).searchParams;
    const manifest = await cp.agentRelease.manifest();
    const refuse = (why: string) => text(422, why);
    if (q.get('os') !== 'linux') return refuse('binfleet-agent runs on Linux only.');
    const arch = q.get('arch') ?? '';
    try {
      hostArchOf(arch);
    } catch {
      return refuse(
        `binfleet does not manage ${arch.slice(0, 40) || 'this'} hosts: QEMU has no user-mode host port for it.`,
      );
    }
    const method = q.get('method');
    if (method !== 'deb' && method !== 'tarball') return refuse('method is deb or tarball.');
    if (!manifest.artifacts.some((a) => a.kind === method))
      return refuse(
        `This control plane serves no ${method} of the agent: use the other --method, or run pnpm agent:package with it.`,
      );
    const node = q.get('node') ?? '';
    if (method === 'tarball' && !(Number(node.split('.')[0]) >= 18))
      return refuse(`The tarball needs Node.js >= 18; this host has ${node.slice(0, 20) || 'none'}.`);
    const version = q.get('version');
    if (version && version !== manifest.version)
      return refuse(
        `This script installs ${version.slice(0, 40)}, but the control plane now serves ${manifest.version}: download install.sh again.`,
      );
    return text(200, `ok ${manifest.version}`);
  });
}

/** A release file, streamed, with its sha256 in a header (the script checks the one it pinned). */
export function releaseFile(cp: ControlPlane, name: string): Promise<Response> {
  return answer(async () => {
    const found = await cp.agentRelease.file(name);
    if (!found) return text(404, `No such agent file: ${name.slice(0, 100)}.`);
    const body = Readable.toWeb(createReadStream(found.path)) as ReadableStream<Uint8Array>;
    return new Response(body, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(found.artifact.size),
        'content-disposition': `attachment; filename="${found.artifact.file}"`,
        'x-checksum-sha256': found.artifact.sha256,
        'cache-control': 'no-store',
      },
    });
  });
}

/** The control plane's own certificate, for hosts to trust (the script fetches it over a pinned connection). */
export function serverCertificate(cp: ControlPlane): Promise<Response> {
  return answer(async () => {
    const tls = cp.tlsPin.current();
    if (!tls)
      return text(
        404,
        'This control plane serves no certificate of its own: it speaks plain HTTP or sits behind a TLS proxy.',
      );
    return new Response(tls.pem, {
      headers: { 'content-type': 'application/x-pem-file', 'cache-control': 'no-store' },
    });
  });
}

const MAX_EXCHANGE_BODY = 1024;

/** POST {code, hostname?}: the host's own join credential for a code, as one line of text. */
export function exchange(cp: ControlPlane, req: Request): Promise<Response> {
  return answer(async () => {
    if (req.method !== 'POST') return text(405, 'POST the code as JSON: {"code": "..."}.', { allow: 'POST' });
    const raw = await readBounded(req, MAX_EXCHANGE_BODY);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return text(400, 'Send JSON: {"code": "..."}.');
    }
    const { code, hostname } = (body ?? {}) as { code?: unknown; hostname?: unknown };
    if (typeof code !== 'string' || !/^[A-Za-z0-9_-]{10,200}$/.test(code))
      return text(400, 'The code is missing or malformed: copy the install line from the dashboard again.');
    if (new URL(req.url).searchParams.get('check') === '1') {
      await cp.hosts.joinTokens.check(code);
      return text(200, 'the code is valid');
    }
    const credential = await cp.hosts.joinTokens.exchange(code, {
      address: requestOrigin(req.headers, networksOf(cp.config.trustedProxies), undefined).address,
      ...(typeof hostname === 'string' && /^[A-Za-z0-9.-]{1,253}$/.test(hostname) ? { hostname } : {}),
    });
    return text(200, credential);
  });
}

async function readBounded(req: Request, max: number): Promise<string> {
  const declared = Number(req.headers.get('content-length') ?? 0);
  if (declared > max) throw new ControlPlaneError('TOO_LARGE', `The request is larger than ${max} bytes.`);
  const body = await req.text();
  if (Buffer.byteLength(body) > max)
    throw new ControlPlaneError('TOO_LARGE', `The request is larger than ${max} bytes.`);
  return body;
}
