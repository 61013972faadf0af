import { gatewayResponse } from './http-gateway.ts';
import { controlPlane } from './instance.ts';

/**
 * A Next route file's handler: the request handed to the gateway, which the web server
 * (scripts/serve.ts) serves before Next reaches these files; they answer under `next dev` and a bare
 * `next start` (the peer headers are stampPeers()'s).
 */
export async function nextRoute(req: Request): Promise<Response> {
  return (
    (await gatewayResponse(await controlPlane(), req, req.signal)) ?? new Response(null, { status: 404 })
  );
}
