'use client';
import { Button, Stack } from '@mantine/core';
import { AuditTable } from '../audit/audit-table.tsx';
import { useTRPC, useTRPCClient } from '../trpc/client.ts';
import { useCursorPages } from '../trpc/cursor-pages.ts';
import { ErrorState, TableSkeleton } from '../ui/states.tsx';

export function HostAudit({ hostname }: { hostname: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const input = { host: hostname, limit: 20 };
  const audit = useCursorPages(trpc.audit.list.queryKey(input), (cursor) =>
    client.audit.list.query({ ...input, ...(cursor ? { cursor } : {}) }),
  );
  if (audit.isPending) return <TableSkeleton rows={5} columns={5} />;
  if (audit.isError)
    return (
      <ErrorState
        title="Could not load the audit trail"
        error={audit.error}
        onRetry={() => void audit.refetch()}
      />
    );
  return (
    <Stack>
      <AuditTable events={audit.data.pages.flatMap((p) => p.items)} compact />
      {audit.hasNextPage && (
        <Button
          variant="default"
          onClick={() => void audit.fetchNextPage()}
          loading={audit.isFetchingNextPage}
          w="fit-content"
          mx="auto"
        >
          Load older events
        </Button>
      )}
    </Stack>
  );
}
