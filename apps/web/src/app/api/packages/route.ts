import { controlPlane } from '~/server/instance.ts';
import { handlePackageUpload } from '~/server/package-upload.ts';

export const dynamic = 'force-dynamic';

export async function POST(req: Request) {
  return handlePackageUpload(await controlPlane(), req);
}
