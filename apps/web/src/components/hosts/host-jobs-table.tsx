'use client';
import { Anchor, Table, Text } from '@mantine/core';
import { IconListCheck } from '@tabler/icons-react';
import Link from 'next/link';
import type { HostDetail } from '../trpc/types.ts';
import { RunStatusBadge } from '../ui/badges.tsx';
import { Empty } from '../ui/states.tsx';
import { Ago } from '../ui/time.tsx';

export function HostJobs({ host }: { host: HostDetail }) {
  if (host.jobs.length === 0)
    return <Empty icon={<IconListCheck size={22} />} title="No job ran on this host yet" />;
  return (
    <Table.ScrollContainer minWidth={640}>
      <Table verticalSpacing={8} highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Job</Table.Th>
            <Table.Th>Status here</Table.Th>
            <Table.Th>Error</Table.Th>
            <Table.Th>Created</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {host.jobs.map((j) => (
            <Table.Tr key={j.jobId}>
              <Table.Td>
                <Anchor component={Link} href={`/jobs/${j.jobId}`} size="sm" fw={500}>
                  {j.kind}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <RunStatusBadge status={j.status} size="sm" />
              </Table.Td>
              <Table.Td maw={480}>
                <Text size="sm" c={j.error ? 'red' : 'dimmed'}>
                  {j.error ?? '—'}
                </Text>
              </Table.Td>
              <Table.Td>
                <Ago date={j.createdAt} size="sm" />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
