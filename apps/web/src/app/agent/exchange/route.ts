import { exchange } from '~/server/agent-install-routes.ts';
import { controlPlane } from '~/server/instance.ts';

export const dynamic = 'force-dynamic';

export async function POST(req: Request) {
  return exchange(await controlPlane(), req);
}
