'use client';
import { Table, Text } from '@mantine/core';
import { IconCpu } from '@tabler/icons-react';
import type { HostDetail } from '../trpc/types.ts';
import { Empty } from '../ui/states.tsx';
import { factsOf } from './host-facts.ts';

export function Interpreters({ host }: { host: HostDetail }) {
  const list = factsOf(host.facts).interpreters;
  if (list.length === 0) {
    return (
      <Empty
        icon={<IconCpu size={22} />}
        title="No QEMU emulator found"
        description="The agent found no qemu-*-static in its interpreter directory. Install qemu-user-static on the host."
      />
    );
  }
  return (
    <Table.ScrollContainer minWidth={560}>
      <Table verticalSpacing={6} fz="sm">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Target</Table.Th>
            <Table.Th>Path</Table.Th>
            <Table.Th>QEMU version</Table.Th>
            <Table.Th>Package</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {list.map((i) => (
            <Table.Tr key={i.path}>
              <Table.Td ff="monospace" fw={600}>
                {i.target}
              </Table.Td>
              <Table.Td ff="monospace" fz="xs">
                {i.path}
              </Table.Td>
              <Table.Td>
                {i.version ??
                  (i.error ? (
                    <Text span size="sm" c="red">
                      {i.error}
                    </Text>
                  ) : (
                    // Neither yet: the agent reads versions after it starts, and its next heartbeat brings them.
                    <Text
                      span
                      size="sm"
                      c="dimmed"
                      title="The agent is still reading it: shown with its next heartbeat"
                    >
                      reading…
                    </Text>
                  ))}
              </Table.Td>
              <Table.Td fz="xs" c="dimmed">
                {i.package ?? '—'}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
