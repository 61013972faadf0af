'use client';
import { QueryCache, QueryClient } from '@tanstack/react-query';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
} from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import superjson from 'superjson';
import type { AppRouter } from '~/server/routers/index.ts';
import { CSRF_HEADER, csrfStore } from './csrf-store.ts';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

const url = '/api/trpc';

export function makeTrpcClient() {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url, transformer: superjson }),
        false: httpBatchLink({
          url,
          transformer: superjson,
          maxURLLength: 2000,
          // The server refuses longer batches (MAX_BATCH in server/http-limits.ts).
          maxItems: 20,
          headers: () => ({ [CSRF_HEADER]: csrfStore.get() }),
        }),
      }),
    ],
  });
}

/** HTTP status of a tRPC error, when the server answered. */
export function httpStatusOf(error: unknown): number | undefined {
  return error instanceof TRPCClientError
    ? (error.data as { httpStatus?: number } | undefined)?.httpStatus
    : undefined;
}

/** What to show the user: the server's message (it says what to do), or the input problems it listed. */
export function errorMessage(error: unknown): string {
  if (error instanceof TRPCClientError) {
    const issues = (error.data as { issues?: string[] } | undefined)?.issues;
    if (issues?.length) return issues.join('; ');
    if (!error.data && /fetch|network/i.test(error.message))
      return 'The binfleet server cannot be reached: check that it is running, then retry.';
  }
  return error instanceof Error ? error.message : String(error);
}

export function makeQueryClient(onUnauthenticated: () => void) {
  return new QueryClient({
    queryCache: new QueryCache({
      onError: (error) => {
        if (httpStatusOf(error) === 401) onUnauthenticated();
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        refetchOnWindowFocus: true,
        // A 4xx will not get better by asking again; a dropped connection might.
        retry: (count, error) => {
          const status = httpStatusOf(error);
          return !(status && status >= 400 && status < 500) && count < 2;
        },
      },
    },
  });
}
