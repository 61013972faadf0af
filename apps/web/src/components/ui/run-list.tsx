'use client';
import type { RunStatus } from '@binfleet/db';
import { Anchor, Button, Card, Group, SegmentedControl, Stack, Table, Text } from '@mantine/core';
import type { QueryKey } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type ReactNode } from 'react';
import { useCursorPages } from '../trpc/cursor-pages.ts';
import { RunStatusBadge } from './badges.tsx';
import { Empty, ErrorState, TableSkeleton } from './states.tsx';

const STATUS_FILTERS = ['all', 'running', 'queued', 'failed', 'succeeded', 'cancelled'] as const;
type StatusFilter = (typeof STATUS_FILTERS)[number];

interface Run {
  readonly id: string;
  readonly status: RunStatus;
}

interface RunListInput {
  status?: RunStatus;
  limit: number;
  cursor?: string;
}

/**
 * Runs (jobs, builds), newest first, filtered by status and fetched 25 at a time. Open runs move:
 * while one is shown the list is refreshed every 2 s, without a subscription per row.
 */
export function useRunList<TRun extends Run>(
  queryKey: (input: RunListInput) => QueryKey,
  fetchPage: (input: RunListInput) => Promise<{ items: TRun[]; nextCursor: string | null }>,
) {
  const [status, setStatus] = useState<StatusFilter>('all');
  const input = { ...(status === 'all' ? {} : { status }), limit: 25 };
  const pages = useCursorPages(
    queryKey(input),
    (cursor) => fetchPage({ ...input, ...(cursor ? { cursor } : {}) }),
    (data) =>
      data?.pages.some((p) => p.items.some((r) => r.status === 'running' || r.status === 'queued'))
        ? 2_000
        : 15_000,
  );
  return { status, setStatus, pages };
}

export interface RunColumn<TRun> {
  header: string;
  w?: number;
  align?: 'right';
  noWrap?: boolean;
  cell: (run: TRun) => ReactNode;
}

/**
 * The table of a run list: a status filter, the run's link and status, the screen's own columns, and
 * "Load older" while there are more pages.
 */
export function RunList<TRun extends Run>({
  list,
  noun,
  minWidth,
  link,
  columns,
  empty,
}: {
  list: ReturnType<typeof useRunList<TRun>>;
  /** Singular, lower case: "build" makes "Load older builds" and "No failed build". */
  noun: string;
  minWidth: number;
  /** The first column: the run's name, a link to its page, with an optional line below. */
  link: {
    header: string;
    href: (run: TRun) => string;
    label: (run: TRun) => ReactNode;
    detail?: (run: TRun) => ReactNode;
  };
  /** The columns after the status. */
  columns: readonly RunColumn<TRun>[];
  /** What an empty list says when no filter is set. */
  empty: { icon: ReactNode; title: string; description: string; action?: ReactNode };
}) {
  const { status, setStatus, pages } = list;
  const runs = pages.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Card padding={0}>
      <Group p="md" pb="sm">
        <SegmentedControl
          value={status}
          onChange={(v) => setStatus(v as StatusFilter)}
          data={STATUS_FILTERS.map((f) => ({ value: f, label: f[0]!.toUpperCase() + f.slice(1) }))}
        />
      </Group>
      {pages.isPending ? (
        <TableSkeleton rows={8} columns={columns.length + 2} />
      ) : pages.isError ? (
        <Stack p="md">
          <ErrorState
            title={`Could not load ${noun}s`}
            error={pages.error}
            onRetry={() => void pages.refetch()}
          />
        </Stack>
      ) : runs.length === 0 ? (
        status === 'all' ? (
          <Empty icon={empty.icon} title={empty.title} description={empty.description}>
            {empty.action}
          </Empty>
        ) : (
          <Empty icon={empty.icon} title={`No ${status} ${noun}`} description="Pick another status." />
        )
      ) : (
        <Table.ScrollContainer minWidth={minWidth}>
          <Table verticalSpacing={10} highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{link.header}</Table.Th>
                <Table.Th w={120}>Status</Table.Th>
                {columns.map((c) => (
                  <Table.Th key={c.header} w={c.w} ta={c.align}>
                    {c.header}
                  </Table.Th>
                ))}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {runs.map((run) => (
                <Table.Tr key={run.id}>
                  <Table.Td>
                    <Anchor component={Link} href={link.href(run)} fw={600} size="sm">
                      {link.label(run)}
                    </Anchor>
                    {link.detail && (
                      <Text size="xs" c="dimmed">
                        {link.detail(run)}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <RunStatusBadge status={run.status} />
                  </Table.Td>
                  {columns.map((c) => (
                    <Table.Td
                      key={c.header}
                      ta={c.align}
                      style={c.noWrap ? { whiteSpace: 'nowrap' } : undefined}
                    >
                      {c.cell(run)}
                    </Table.Td>
                  ))}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {pages.hasNextPage && (
        <Group justify="center" p="md">
          <Button
            variant="default"
            onClick={() => void pages.fetchNextPage()}
            loading={pages.isFetchingNextPage}
          >
            Load older {noun}s
          </Button>
        </Group>
      )}
    </Card>
  );
}
