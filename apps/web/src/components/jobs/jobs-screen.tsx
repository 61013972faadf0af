'use client';
import { Stack, Text } from '@mantine/core';
import { IconListCheck } from '@tabler/icons-react';
import { PageHeader } from '../shell/page-header.tsx';
import { useTRPC, useTRPCClient } from '../trpc/client.ts';
import { RunList, useRunList } from '../ui/run-list.tsx';
import { Ago, formatDuration } from '../ui/time.tsx';
import { JobProgressBar } from './job-progress.tsx';

export function JobsScreen() {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const jobs = useRunList(
    (input) => trpc.jobs.list.queryKey(input),
    (input) => client.jobs.list.query(input),
  );
  return (
    <Stack gap="lg">
      <PageHeader
        title="Jobs"
        description="Every action run on hosts, newest first. Each host's result is recorded, whatever happens to the agent or the server."
      />
      <RunList
        list={jobs}
        noun="job"
        minWidth={900}
        link={{ header: 'Action', href: (j) => `/jobs/${j.id}`, label: (j) => j.summary }}
        columns={[
          {
            header: 'Hosts',
            w: 260,
            cell: (j) => (
              <Stack gap={4}>
                <JobProgressBar counts={j.counts} size="sm" />
                <Text size="xs" c="dimmed">
                  {j.counts.total.toLocaleString()} host{j.counts.total === 1 ? '' : 's'}
                  {j.counts.failed > 0 && (
                    <Text
                      span
                      c="var(--mantine-color-red-text)"
                      size="xs"
                    >{` · ${j.counts.failed.toLocaleString()} failed`}</Text>
                  )}
                  {j.counts.cancelled > 0 && ` · ${j.counts.cancelled.toLocaleString()} cancelled`}
                  {j.counts.running + j.counts.queued > 0 &&
                    ` · ${(j.counts.running + j.counts.queued).toLocaleString()} to go`}
                </Text>
              </Stack>
            ),
          },
          { header: 'By', cell: (j) => <Text size="sm">{j.createdBy}</Text> },
          { header: 'Created', noWrap: true, cell: (j) => <Ago date={j.createdAt} size="sm" /> },
          {
            header: 'Took',
            align: 'right',
            noWrap: true,
            cell: (j) => (
              <Text size="sm" c="dimmed">
                {j.finishedAt ? formatDuration(j.finishedAt.getTime() - j.createdAt.getTime()) : '—'}
              </Text>
            ),
          },
        ]}
        empty={{
          icon: <IconListCheck size={22} />,
          title: 'No job has run yet',
          description:
            'Select hosts on the Fleet page and choose an action: it shows up here with per-host progress.',
        }}
      />
    </Stack>
  );
}
