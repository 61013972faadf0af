import { supported } from '~/server/agent-install-routes.ts';
import { controlPlane } from '~/server/instance.ts';

export const dynamic = 'force-dynamic';

export async function GET(req: Request) {
  return supported(await controlPlane(), req);
}
