import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { packageSha256Schema } from '@binfleet/agent-contract';
import type { ControlPlane } from '../../services/control-plane.ts';
import { ControlPlaneError } from '../../errors.ts';
import type { HeartbeatHost } from '../../services/hosts/enrolment.ts';
import { refusalResponse } from '../../http-limits.ts';
import { isTokenOf } from '../../security/tokens.ts';

/** Where a dial-out agent holds its channel. */
export const CHANNEL_ROUTE = '/api/agent/channel';
/** Where a dial-out builder fetches a package: `<PACKAGE_ROUTE><sha256>` (the contract's controlPlanePackagePath). */
export const PACKAGE_ROUTE = '/api/agent/packages/';

const refuse = (status: number, error: string) => refusalResponse({ status, error });

/**
 * The dial-out agent a request comes from, by its heartbeat credential, or the refusal to answer. The
 * credential's shape is checked before any database work, so a flood of unauthenticated attempts
 * costs no query; then the host is found by it as heartbeats are.
 */
async function dialOutAgentOf(cp: ControlPlane, req: Request): Promise<HeartbeatHost | Response> {
  if (req.method !== 'GET') return refuse(405, 'Use GET.');
  const authorization = req.headers.get('authorization');
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
  if (!token || !isTokenOf('agent', token))
    return refuse(401, 'Send Authorization: Bearer <the agent heartbeat credential>.');
  let host: HeartbeatHost;
  try {
    host = await cp.hosts.enrolment.hostForHeartbeat(token);
  } catch (error) {
    return refuse(401, (error as Error).message);
  }
  if (host.transport !== 'dial-out')
    return refuse(
      409,
      `${host.hostname} is joined with the direct transport: the control plane calls its agent; join it again with --dial-out to use a channel.`,
    );
  return host;
}

/** GET /api/agent/channel, in both servers: a dial-out agent's channel, as server-sent events. */
export async function handleAgentChannel(
  cp: ControlPlane,
  req: Request,
  signal: AbortSignal,
): Promise<Response> {
  const host = await dialOutAgentOf(cp, req);
  if (host instanceof Response) return host;
  const stream = await cp.dialOut.channels.open(host, signal);
  return new Response(stream, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Proxies in front must not buffer the stream.
      'x-accel-buffering': 'no',
    },
  });
}

/**
 * GET /api/agent/packages/<sha256>, in both servers: an uploaded package a queued or running build of
 * the asking dial-out builder needs, streamed from the data dir (the builder checks its sha256).
 */
export async function handleAgentPackage(cp: ControlPlane, req: Request): Promise<Response> {
  const sha256 = new URL(req.url).pathname.slice(PACKAGE_ROUTE.length);
  if (!packageSha256Schema.safeParse(sha256).success)
    return refuse(400, `Name the package by its sha256: ${PACKAGE_ROUTE}<64 lower-case hex digits>.`);
  const host = await dialOutAgentOf(cp, req);
  if (host instanceof Response) return host;
  let file: { path: string; size: number };
  try {
    file = await cp.builds.packageForBuilder(host, sha256);
  } catch (error) {
    if (error instanceof ControlPlaneError && error.code === 'NOT_FOUND') return refuse(404, error.message);
    throw error;
  }
  return new Response(Readable.toWeb(createReadStream(file.path)) as ReadableStream, {
    headers: {
      'content-type': 'application/vnd.debian.binary-package',
      'content-length': String(file.size),
      'cache-control': 'no-store',
    },
  });
}
