import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from '~/server/routers/index.ts';
import { describeDatabaseFailure } from '~/server/database-errors.ts';
import { controlPlane } from '~/server/instance.ts';
import { createContext } from '~/server/trpc.ts';

export const dynamic = 'force-dynamic';

async function handler(req: Request) {
  const cp = await controlPlane();
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: ({ resHeaders }) => createContext(cp, req, resHeaders),
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR')
        console.error(
          JSON.stringify({
            msg: 'trpc error',
            path,
            error: describeDatabaseFailure(error.cause) ?? error.message,
          }),
        );
    },
  });
}

export { handler as GET, handler as POST };
