import type { ControlPlane } from '../../services/control-plane.ts';
import { refusalResponse } from '../../http-limits.ts';
import { isTokenOf } from '../../security/tokens.ts';

const refuse = (status: number, error: string) => refusalResponse({ status, error });

/**
 * GET /api/agent/channel, in both servers: a dial-out agent's channel, as server-sent events. The
 * credential's shape is checked before any database work, so a flood of unauthenticated attempts
 * costs no query; then the host is found by it as heartbeats are.
 */
export async function handleAgentChannel(
  cp: ControlPlane,
  req: Request,
  signal: AbortSignal,
): Promise<Response> {
  if (req.method !== 'GET') return refuse(405, 'Open the channel with GET.');
  const authorization = req.headers.get('authorization');
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
  if (!token || !isTokenOf('agent', token))
    return refuse(401, 'Send Authorization: Bearer <the agent heartbeat credential>.');
  let host;
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
