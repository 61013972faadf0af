import { releaseFile } from '~/server/agent-install-routes.ts';
import { controlPlane } from '~/server/instance.ts';

export const dynamic = 'force-dynamic';

export async function GET(_req: Request, { params }: { params: Promise<{ name: string }> }) {
  return releaseFile(await controlPlane(), (await params).name);
}
