import { PassThrough, Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { ControlPlaneError } from './errors.ts';
import { actorOf, hasRole } from './services/auth.ts';
import type { ControlPlane } from './services/control-plane.ts';
import { uploadFilename } from './services/packages.ts';
import { createContext } from './trpc.ts';

/** The file's name travels in this header (URI-encoded), the file itself as the raw request body. */
export const FILENAME_HEADER = 'x-binfleet-filename';

const STATUS: Partial<Record<ControlPlaneError['code'], number>> = {
  INVALID_INPUT: 400,
  NOT_FOUND: 404,
  TOO_LARGE: 413,
};

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  Response.json(body, { status, headers: { 'cache-control': 'no-store', ...headers } });

/**
 * `POST /api/packages`: an admin uploads a QEMU .deb as the raw request body, streamed to the data
 * dir. Outside tRPC because tRPC reads whole JSON bodies; the checks are the same as its admin
 * mutations (session cookie, the CSRF header, the admin role), all made before the body is read,
 * as is the declared size. Answers 201 with the record, or 200 with the existing one for a file
 * uploaded before.
 */
export async function handlePackageUpload(cp: ControlPlane, req: Request): Promise<Response> {
  if (req.method !== 'POST')
    return json(405, { error: 'POST the .deb as the request body.' }, { allow: 'POST' });
  const ctx = await createContext(cp, req.headers, new Headers());
  const session = ctx.session;
  if (!session) return json(401, { error: 'Sign in first.' });
  if (ctx.csrf !== session.csrfSecret)
    return json(403, { error: 'Missing or wrong CSRF token: reload the page and try again.' });
  if (!hasRole(session.user, 'admin')) {
    await cp.audit.record({
      actor: actorOf(session.user),
      action: 'auth.denied',
      outcome: 'denied',
      detail: `package upload needs admin, has ${session.user.role}`,
    });
    return json(403, {
      error: `Uploading packages needs the admin role; you are ${session.user.role}. Ask an admin.`,
    });
  }
  const declared = Number(req.headers.get('content-length') ?? 0);
  if (declared > cp.packages.maxBytes) {
    return json(413, {
      error: `The file is larger than ${cp.packages.maxBytes} bytes, the upload limit: raise BINFLEET_PACKAGE_MAX_BYTES or give the package as a file on the builder.`,
    });
  }
  if (!req.body) return json(400, { error: 'Send the .deb as the request body.' });
  // Through a PassThrough: a refused body (too large, not a .deb) stops being stored without
  // cancelling the request, so the client still reads the answer; the rest is read and dropped.
  const source = Readable.fromWeb(req.body as NodeReadableStream<Uint8Array>);
  const body = new PassThrough();
  // A client that goes away mid-upload fails it (and its temporary file goes) instead of hanging.
  source.once('error', (error) => body.destroy(error));
  source.pipe(body);
  try {
    const result = await cp.packages.upload(actorOf(session.user), {
      filename: uploadFilename(req.headers.get(FILENAME_HEADER)),
      body,
    });
    return json(result.created ? 201 : 200, result.package);
  } catch (error) {
    source.unpipe(body);
    discard(source);
    if (error instanceof Error && error.name === 'ControlPlaneError') {
      const status = STATUS[(error as ControlPlaneError).code];
      if (status) return json(status, { error: error.message });
    }
    throw error;
  }
}

/** How long a refused upload may go on sending before it is cut. */
const DISCARD_MS = 10_000;

function discard(source: Readable): void {
  if (source.readableEnded) return;
  const cut = setTimeout(() => source.destroy(), DISCARD_MS);
  source.once('end', () => clearTimeout(cut));
  source.once('close', () => clearTimeout(cut));
  source.on('error', () => undefined);
  source.resume();
}
