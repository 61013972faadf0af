'use client';
import { useInfiniteQuery, type InfiniteData, type QueryKey } from '@tanstack/react-query';

interface CursorPage {
  readonly nextCursor: string | null;
}

/**
 * Cursor pagination ("load older") over a list procedure. tRPC's infiniteQueryOptions adds a
 * `direction` key to the input, which the server's strict input schemas refuse, so pages are
 * fetched with the plain client and only `cursor` is sent.
 */
export function useCursorPages<TPage extends CursorPage>(
  queryKey: QueryKey,
  fetchPage: (cursor: string | undefined) => Promise<TPage>,
  refetchInterval?: (data: InfiniteData<TPage> | undefined) => number | false,
) {
  return useInfiniteQuery({
    queryKey: [...queryKey, 'cursor-pages'],
    queryFn: ({ pageParam }) => fetchPage(pageParam ?? undefined),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
    ...(refetchInterval
      ? {
          refetchInterval: (q: { state: { data: InfiniteData<TPage> | undefined } }) =>
            refetchInterval(q.state.data),
        }
      : {}),
  });
}
