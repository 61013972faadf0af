import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from '~/server/routers/index.ts';
import { logServerError } from '~/server/database-errors.ts';
import { batchRefusal, bodyRefusal, refusalResponse } from '~/server/http-limits.ts';
import { controlPlane } from '~/server/instance.ts';
import { createContext } from '~/server/trpc.ts';
import { API_CSP, secured } from '~/shared/security-headers.ts';

export const dynamic = 'force-dynamic';

/** proxy.ts does not see this route (its matcher): bodies are refused and headers set here. */
async function handler(req: Request) {
  return secured(await answer(req), API_CSP);
}

async function answer(req: Request) {
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
