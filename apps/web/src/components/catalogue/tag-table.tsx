'use client';
import { Stack, Table, Text, Tooltip } from '@mantine/core';
import type { RouterOutputs } from '../trpc/types.ts';
import { CopyLine, formatBytes, shortDigest } from '../ui/copy-line.tsx';
import { Ago } from '../ui/time.tsx';

type CatalogueTag = RouterOutputs['catalogue']['browse']['versions'][number]['tags'][number];

const KIND_LABEL: Record<CatalogueTag['kind'], string> = {
  version: 'register + all emulators',
  latest: 'register + all emulators',
  register: 'register only',
  'pair-version': 'emulator',
  pair: 'emulator',
  'target-version': 'emulator',
  target: 'emulator',
  other: 'outside the scheme',
};

/** Tags with what each holds, its digest, size and age, and the line that pulls it. */
export function TagTable({ tags }: { tags: readonly CatalogueTag[] }) {
  return (
    <Table.ScrollContainer minWidth={960}>
      <Table verticalSpacing={6} highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Tag</Table.Th>
            <Table.Th>Architectures</Table.Th>
            <Table.Th>Digest</Table.Th>
            <Table.Th ta="right">Size</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th>Pull</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {tags.map((t) => (
            <Table.Tr key={t.tag} data-testid={`tag-${t.tag}`}>
              <Table.Td>
                <Text size="sm" ff="monospace" fw={600}>
                  {t.tag}
                </Text>
                <Text size="xs" c="dimmed">
                  {KIND_LABEL[t.kind]}
                </Text>
              </Table.Td>
              <Table.Td style={{ whiteSpace: 'nowrap' }}>
                {t.platform?.includes(',') && (
                  <Text size="xs" c="dimmed" data-testid="tag-platforms">
                    index: {t.platform.split(',').join(' · ')}
                  </Text>
                )}
                {t.to ? (
                  <Text size="sm">
                    {t.from ?? (t.platform?.includes(',') ? 'each host' : '?')} → <b>{t.to}</b>
                  </Text>
                ) : (
                  <Text size="sm" c="dimmed">
                    {t.from ? `on ${t.from}` : t.platform?.includes(',') ? '' : (t.platform ?? '—')}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>
                <Tooltip label={t.digest} maw={560} multiline>
                  <Text size="xs" ff="monospace" data-testid="tag-digest">
                    {shortDigest(t.digest)}
                  </Text>
                </Tooltip>
              </Table.Td>
              <Table.Td ta="right" style={{ whiteSpace: 'nowrap' }}>
                <Text size="sm">{formatBytes(t.size)}</Text>
              </Table.Td>
              <Table.Td style={{ whiteSpace: 'nowrap' }}>
                {t.created ? <Ago date={t.created} size="sm" /> : '—'}
              </Table.Td>
              <Table.Td maw={420}>
                {t.pull && t.pinned ? (
                  <Stack gap={2}>
                    <CopyLine text={t.pull} label="Copy the pull command" testId="tag-pull" wrap />
                    <CopyLine
                      text={t.pinned}
                      label="Copy the pull command pinned by digest"
                      testId="tag-pinned"
                    />
                  </Stack>
                ) : (
                  <Text size="xs" c="dimmed">
                    outside the scheme: no pull line
                  </Text>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
