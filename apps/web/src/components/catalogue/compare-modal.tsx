'use client';
import { Badge, Group, Modal, Select, Stack, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTRPC } from '../trpc/client.ts';
import { formatBytes, shortDigest } from '../ui/copy-line.tsx';
import { ErrorState, TableSkeleton } from '../ui/states.tsx';

/** Two versions of a repository side by side, image by image: what changed, came or went. */
export function CompareModal({
  opened,
  onClose,
  repositoryId,
  versions,
}: {
  opened: boolean;
  onClose: () => void;
  repositoryId: string;
  versions: string[];
}) {
  const trpc = useTRPC();
  const [a, setA] = useState<string | null>(null);
  const [b, setB] = useState<string | null>(null);
  useEffect(() => {
    if (opened) {
      setA(versions[1] ?? null);
      setB(versions[0] ?? null);
    }
  }, [opened, versions]);
  const compare = useQuery(
    trpc.catalogue.compare.queryOptions(
      { repositoryId, a: a ?? '', b: b ?? '' },
      { enabled: opened && !!a && !!b },
    ),
  );
  const COLOR = { same: 'gray', changed: 'blue', added: 'teal', removed: 'orange' } as const;
  return (
    <Modal opened={opened} onClose={onClose} title="Compare two versions" size="xl">
      <Stack>
        <Group grow>
          <Select label="Older" data={versions} value={a} onChange={setA} searchable />
          <Select label="Newer" data={versions} value={b} onChange={setB} searchable />
        </Group>
        {compare.isError ? (
          <ErrorState error={compare.error} />
        ) : compare.data ? (
          <Table.ScrollContainer minWidth={520}>
            <Table verticalSpacing={6}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Image</Table.Th>
                  <Table.Th>{a}</Table.Th>
                  <Table.Th>{b}</Table.Th>
                  <Table.Th w={150}>Change</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {compare.data.map((row) => (
                  <Table.Tr key={row.key}>
                    <Table.Td>
                      <Text size="sm" ff="monospace">
                        {row.key}
                      </Text>
                    </Table.Td>
                    {[row.a, row.b].map((side, i) => (
                      <Table.Td key={i} style={{ whiteSpace: 'nowrap' }}>
                        {side ? (
                          <Text size="xs" ff="monospace" title={side.digest}>
                            {shortDigest(side.digest)} · {formatBytes(side.size)}
                          </Text>
                        ) : (
                          <Text size="xs" c="dimmed">
                            —
                          </Text>
                        )}
                      </Table.Td>
                    ))}
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>
                      <Group gap={6} wrap="nowrap">
                        <Badge
                          variant="light"
                          color={COLOR[row.change as keyof typeof COLOR]}
                          style={{ flexShrink: 0, overflow: 'visible' }}
                        >
                          {row.change}
                        </Badge>
                        {row.sizeDelta ? (
                          <Text size="xs" c="dimmed">
                            {row.sizeDelta > 0 ? '+' : '−'}
                            {formatBytes(Math.abs(row.sizeDelta))}
                          </Text>
                        ) : null}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        ) : (
          <TableSkeleton rows={4} columns={4} />
        )}
        <Text size="xs" c="dimmed">
          Digests differ whenever an image was rebuilt, even from the same emulator binary.
        </Text>
      </Stack>
    </Modal>
  );
}
