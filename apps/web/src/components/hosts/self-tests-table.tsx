'use client';
import { Badge, Code, Table } from '@mantine/core';
import { IconFlask } from '@tabler/icons-react';
import type { HostDetail } from '../trpc/types.ts';
import { Empty } from '../ui/states.tsx';
import { Ago, formatDuration } from '../ui/time.tsx';

export function SelfTests({ host }: { host: HostDetail }) {
  if (host.verify.length === 0) {
    return (
      <Empty
        icon={<IconFlask size={22} />}
        title="Never verified"
        description="Verify runs each registered emulator (a foreign binary, and a foreign container where Docker is present) and records the result here."
      />
    );
  }
  return (
    <Table.ScrollContainer minWidth={800}>
      <Table verticalSpacing={8}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Target</Table.Th>
            <Table.Th>Method</Table.Th>
            <Table.Th>Result</Table.Th>
            <Table.Th>Output</Table.Th>
            <Table.Th ta="right">Time</Table.Th>
            <Table.Th>When</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {host.verify.map((v) => (
            <Table.Tr key={v.id}>
              <Table.Td ff="monospace" fz="sm" fw={600}>
                {v.target}
              </Table.Td>
              <Table.Td fz="sm">{v.method}</Table.Td>
              <Table.Td>
                <Badge
                  size="sm"
                  variant="light"
                  color={v.status === 'passed' ? 'teal' : v.status === 'failed' ? 'red' : 'gray'}
                >
                  {v.status}
                </Badge>
              </Table.Td>
              <Table.Td maw={420}>
                <Code fz="xs" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
                  {v.output || '(no output)'}
                </Code>
              </Table.Td>
              <Table.Td ta="right" fz="sm" style={{ whiteSpace: 'nowrap' }}>
                {formatDuration(v.durationMs)}
              </Table.Td>
              <Table.Td>
                <Ago date={v.at} size="sm" />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
