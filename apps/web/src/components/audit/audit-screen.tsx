'use client';
import { Button, Card, Group, Input, SegmentedControl, Stack, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconFilterOff, IconSearch } from '@tabler/icons-react';
import { useState } from 'react';
import { PageHeader } from '../shell/page-header.tsx';
import { useTRPC, useTRPCClient } from '../trpc/client.ts';
import { useCursorPages } from '../trpc/cursor-pages.ts';
import { ErrorState, TableSkeleton } from '../ui/states.tsx';
import { AuditTable } from './audit-table.tsx';

interface Filters {
  outcome: 'all' | 'problems';
  actor: string;
  action: string;
  host: string;
  from: string;
  to: string;
}

const NONE: Filters = { outcome: 'all', actor: '', action: '', host: '', from: '', to: '' };

/** `datetime-local` values are local time without a zone; Date reads them as such. */
const toDate = (v: string) => (v ? new Date(v) : undefined);

export function AuditScreen() {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const [filters, setFilters] = useState<Filters>(NONE);
  const [debounced] = useDebouncedValue(filters, 300);
  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));
  const from = toDate(debounced.from);
  const to = toDate(debounced.to);
  const input = {
    ...(debounced.actor.trim() ? { actor: debounced.actor.trim() } : {}),
    ...(debounced.action.trim() ? { action: debounced.action.trim() } : {}),
    ...(debounced.host.trim() ? { host: debounced.host.trim() } : {}),
    ...(debounced.outcome === 'problems' ? { outcomes: ['failure' as const, 'denied' as const] } : {}),
    ...(from && !Number.isNaN(from.getTime()) ? { from } : {}),
    ...(to && !Number.isNaN(to.getTime()) ? { to } : {}),
    limit: 100,
  };
  const audit = useCursorPages(trpc.audit.list.queryKey(input), (cursor) =>
    client.audit.list.query({ ...input, ...(cursor ? { cursor } : {}) }),
  );
  const events = audit.data?.pages.flatMap((p) => p.items) ?? [];
  const filtered = JSON.stringify(filters) !== JSON.stringify(NONE);
  return (
    <Stack gap="lg">
      <PageHeader
        title="Audit log"
        description="Every change, who made it, on which hosts, and how it ended. Append-only. Repeated failures are folded into one line; open a row for everything it recorded."
      />
      <Card padding={0}>
        <Group p="md" gap="sm" align="flex-end" wrap="wrap">
          <Stack gap={4}>
            <Input.Label id="audit-outcome-label" component="span">
              Outcome
            </Input.Label>
            <SegmentedControl
              aria-labelledby="audit-outcome-label"
              value={filters.outcome}
              onChange={(v) => set({ outcome: v as Filters['outcome'] })}
              data={[
                { value: 'all', label: 'All' },
                { value: 'problems', label: 'Denied or failed' },
              ]}
            />
          </Stack>
          <TextInput
            label="Actor"
            placeholder="e.g. olivia"
            leftSection={<IconSearch size={14} />}
            value={filters.actor}
            onChange={(e) => set({ actor: e.currentTarget.value })}
            w={170}
          />
          <TextInput
            label="Action"
            placeholder="e.g. job. or policy.set"
            value={filters.action}
            onChange={(e) => set({ action: e.currentTarget.value })}
            w={170}
          />
          <TextInput
            label="Host"
            placeholder="full hostname"
            value={filters.host}
            onChange={(e) => set({ host: e.currentTarget.value })}
            w={170}
          />
          <TextInput
            label="From"
            type="datetime-local"
            value={filters.from}
            onChange={(e) => set({ from: e.currentTarget.value })}
            w={170}
          />
          <TextInput
            label="To"
            type="datetime-local"
            value={filters.to}
            onChange={(e) => set({ to: e.currentTarget.value })}
            w={170}
          />
          {filtered && (
            <Button
              variant="subtle"
              color="gray"
              leftSection={<IconFilterOff size={16} />}
              onClick={() => setFilters(NONE)}
            >
              Clear
            </Button>
          )}
        </Group>
        {audit.isPending ? (
          <TableSkeleton rows={10} columns={6} />
        ) : audit.isError ? (
          <Stack p="md">
            <ErrorState
              title="Could not load the audit log"
              error={audit.error}
              onRetry={() => void audit.refetch()}
            />
          </Stack>
        ) : (
          <>
            <AuditTable events={events} />
            <Group justify="center" p="md">
              {audit.hasNextPage ? (
                <Button
                  variant="default"
                  onClick={() => void audit.fetchNextPage()}
                  loading={audit.isFetchingNextPage}
                >
                  Load older events
                </Button>
              ) : (
                events.length > 0 && (
                  <Text size="sm" c="dimmed">
                    That is all: {events.length.toLocaleString()} event{events.length === 1 ? '' : 's'}.
                  </Text>
                )
              )}
            </Group>
          </>
        )}
      </Card>
    </Stack>
  );
}
