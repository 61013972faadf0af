import { handleAgentPackage } from '~/server/agents/dial-out/channel-route.ts';
import { controlPlane } from '~/server/instance.ts';

export const dynamic = 'force-dynamic';

export async function GET(req: Request) {
  return handleAgentPackage(await controlPlane(), req);
}
