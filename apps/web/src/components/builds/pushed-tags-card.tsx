'use client';
import { Anchor, Card, Group, ScrollArea, Table, Text } from '@mantine/core';
import Link from 'next/link';
import type { BuildDetail } from '../trpc/types.ts';
import { CopyLine, shortDigest } from '../ui/copy-line.tsx';

type PushedTag = { tag: string; reference: string; digest: string; platform: string };

/** The tags the build pushed, once it pushed them. */
export function TagsCard({ build }: { build: BuildDetail }) {
  const tags = (build.pushedTags ?? []) as PushedTag[];
  if (tags.length === 0) return null;
  return (
    <Card padding={0}>
      <Group p="md" pb="xs" justify="space-between">
        <Text fw={600}>Pushed tags ({tags.length})</Text>
        {build.repository && (
          <Anchor component={Link} href="/catalogue" size="sm">
            Open the catalogue
          </Anchor>
        )}
      </Group>
      <ScrollArea.Autosize mah={440} type="auto">
        <Table verticalSpacing={6} miw={800} stickyHeader>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Tag</Table.Th>
              <Table.Th>Digest</Table.Th>
              <Table.Th>Pull</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {tags.map((t) => (
              <Table.Tr key={t.tag}>
                <Table.Td>
                  <Text size="sm" ff="monospace">
                    {t.tag}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="xs" ff="monospace" title={t.digest}>
                    {shortDigest(t.digest)}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <CopyLine text={`docker pull ${t.reference}`} label="Copy the pull command" />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea.Autosize>
    </Card>
  );
}
