'use client';
import { Badge, Card, Table, Text } from '@mantine/core';
import type { BuildDetail } from '../trpc/types.ts';
import { formatDuration } from '../ui/time.tsx';

type Check = {
  name: string;
  status: 'pass' | 'fail' | 'skipped';
  detail: string;
  output?: string;
  durationMs: number;
};

/** The seed's checks the build ran on its images, once it ran them. */
export function ChecksCard({ build }: { build: BuildDetail }) {
  const checks = (build.checks ?? []) as Check[];
  if (checks.length === 0) return null;
  const COLOR = { pass: 'teal', fail: 'red', skipped: 'gray' } as const;
  return (
    <Card padding={0}>
      <Text fw={600} p="md" pb="xs">
        The seed&apos;s checks
      </Text>
      <Table.ScrollContainer minWidth={560}>
        <Table verticalSpacing={8}>
          <Table.Tbody>
            {checks.map((c) => (
              <Table.Tr key={c.name}>
                <Table.Td w={90}>
                  <Badge color={COLOR[c.status]} variant="light">
                    {c.status}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <Text size="sm" fw={600}>
                    {c.name}
                  </Text>
                  <Text size="xs" c="dimmed">
                    {c.detail}
                  </Text>
                </Table.Td>
                <Table.Td w={90} ta="right">
                  <Text size="xs" c="dimmed">
                    {formatDuration(c.durationMs)}
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Card>
  );
}
