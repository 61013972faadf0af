import { serverCertificate } from '~/server/agent-install-routes.ts';
import { controlPlane } from '~/server/instance.ts';

export const dynamic = 'force-dynamic';

export async function GET() {
  return serverCertificate(await controlPlane());
}
