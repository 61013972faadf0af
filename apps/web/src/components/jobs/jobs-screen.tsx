'use client';
import type { RunStatus } from '@binfleet/db';
import { Anchor, Button, Card, Group, SegmentedControl, Stack, Table, Text } from '@mantine/core';
import { IconListCheck } from '@tabler/icons-react';
import Link from 'next/link';
import { useState } from 'react';
import { PageHeader } from '../shell/page-header.tsx';
import { useTRPC, useTRPCClient } from '../trpc/client.ts';
import { useCursorPages } from '../trpc/cursor-pages.ts';
import { RunStatusBadge } from '../ui/badges.tsx';
import { Empty, ErrorState, TableSkeleton } from '../ui/states.tsx';
import { Ago, formatDuration } from '../ui/time.tsx';
import { JobProgressBar } from './job-progress.tsx';

const FILTERS = ['all', 'running', 'queued', 'failed', 'succeeded', 'cancelled'] as const;

export function JobsScreen() {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const [status, setStatus] = useState<(typeof FILTERS)[number]>('all');
  const input = { ...(status === 'all' ? {} : { status: status as RunStatus }), limit: 25 };
  const jobs = useCursorPages(
    trpc.jobs.list.queryKey(input),
    (cursor) => client.jobs.list.query({ ...input, ...(cursor ? { cursor } : {}) }),
    // Open jobs move: keep their progress fresh without a subscription per row.
    (data) =>
      data?.pages.some((p) => p.items.some((j) => j.status === 'running' || j.status === 'queued'))
        ? 2_000
        : 15_000,
  );
  const items = jobs.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Stack gap="lg">
      <PageHeader
        title="Jobs"
        description="Every action run on hosts, newest first. Each host's result is recorded, whatever happens to the agent or the server."
      />
      <Card padding={0}>
        <Group p="md" pb="sm" justify="space-between">
          <SegmentedControl
            value={status}
            onChange={(v) => setStatus(v as typeof status)}
            data={FILTERS.map((f) => ({ value: f, label: f[0]!.toUpperCase() + f.slice(1) }))}
          />
        </Group>
        {jobs.isPending ? (
          <TableSkeleton rows={8} columns={6} />
        ) : jobs.isError ? (
          <Stack p="md">
            <ErrorState title="Could not load jobs" error={jobs.error} onRetry={() => void jobs.refetch()} />
          </Stack>
        ) : items.length === 0 ? (
          <Empty
            icon={<IconListCheck size={22} />}
            title={status === 'all' ? 'No job has run yet' : `No ${status} job`}
            description={
              status === 'all'
                ? 'Select hosts on the Fleet page and choose an action: it shows up here with per-host progress.'
                : 'Pick another status.'
            }
          />
        ) : (
          <Table.ScrollContainer minWidth={900}>
            <Table verticalSpacing={10} highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Action</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th w={260}>Hosts</Table.Th>
                  <Table.Th>By</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th ta="right">Took</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((j) => (
                  <Table.Tr key={j.id}>
                    <Table.Td>
                      <Anchor component={Link} href={`/jobs/${j.id}`} fw={600} size="sm">
                        {j.summary}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>
                      <RunStatusBadge status={j.status} />
                    </Table.Td>
                    <Table.Td>
                      <Stack gap={4}>
                        <JobProgressBar counts={j.counts} size="sm" />
                        <Text size="xs" c="dimmed">
                          {j.counts.total.toLocaleString()} host{j.counts.total === 1 ? '' : 's'}
                          {j.counts.failed > 0 && (
                            <Text
                              span
                              c="red.7"
                              size="xs"
                            >{` · ${j.counts.failed.toLocaleString()} failed`}</Text>
                          )}
                          {j.counts.cancelled > 0 && ` · ${j.counts.cancelled.toLocaleString()} cancelled`}
                          {j.counts.running + j.counts.queued > 0 &&
                            ` · ${(j.counts.running + j.counts.queued).toLocaleString()} to go`}
                        </Text>
                      </Stack>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{j.createdBy}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Ago date={j.createdAt} size="sm" />
                    </Table.Td>
                    <Table.Td ta="right">
                      <Text size="sm" c="dimmed">
                        {j.finishedAt ? formatDuration(j.finishedAt.getTime() - j.createdAt.getTime()) : '—'}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        {jobs.hasNextPage && (
          <Group justify="center" p="md">
            <Button
              variant="default"
              onClick={() => void jobs.fetchNextPage()}
              loading={jobs.isFetchingNextPage}
            >
              Load older jobs
            </Button>
          </Group>
        )}
      </Card>
    </Stack>
  );
}
