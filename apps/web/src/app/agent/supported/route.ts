import { nextRoute } from '~/server/next-route.ts';

export const dynamic = 'force-dynamic';

export { nextRoute as GET };
