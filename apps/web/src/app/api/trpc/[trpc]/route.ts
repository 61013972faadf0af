import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from '~/server/routers/index.ts';
import { logServerError } from '~/server/database-errors.ts';
import { batchRefusal, bodyRefusal, refusalResponse } from '~/server/http-limits.ts';
import { controlPlane } from '~/server/instance.ts';
import { createContext } from '~/server/trpc.ts';

export const dynamic = 'force-dynamic';

async function handler(req: Request) {
  // proxy.ts refuses large bodies already; checked again here, where the body is read.
  const { pathname } = new URL(req.url);
  const refusal = bodyRefusal(req.method, pathname, req.headers) ?? batchRefusal(pathname);
  if (refusal) return refusalResponse(refusal);
  const cp = await controlPlane();
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: ({ resHeaders }) => createContext(cp, req, resHeaders),
    onError: logServerError,
  });
}

export { handler as GET, handler as POST };
