'use client';
import { Anchor, Badge, Checkbox, Group, Progress, Stack, Table, Text, Tooltip } from '@mantine/core';
import Link from 'next/link';
import { DriftBadge, OnlineBadge } from '../ui/badges.tsx';
import { Ago } from '../ui/time.tsx';
import type { FleetRow } from '../trpc/types.ts';
import { CELL_LOOK, CELL_STATES, cellCounts } from './cell-states.ts';
import type { PageSelection } from './selection.ts';

export function HostTable({
  rows,
  selection,
}: {
  rows: readonly FleetRow[];
  selection: PageSelection | null;
}) {
  return (
    <Table.ScrollContainer minWidth={980}>
      <Table highlightOnHover verticalSpacing={8}>
        <Table.Thead>
          <Table.Tr>
            {selection && (
              <Table.Th w={36}>
                <Checkbox
                  size="xs"
                  aria-label="Select every host on this page"
                  checked={selection.allOnPage}
                  indeterminate={selection.someOnPage}
                  onChange={selection.togglePage}
                />
              </Table.Th>
            )}
            <Table.Th>Host</Table.Th>
            <Table.Th>State</Table.Th>
            <Table.Th>Arch</Table.Th>
            <Table.Th>Kernel</Table.Th>
            <Table.Th>Docker</Table.Th>
            <Table.Th>Group</Table.Th>
            <Table.Th w={190}>Registrations</Table.Th>
            <Table.Th>Policy</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((row) => (
            <Table.Tr
              key={row.id}
              bg={selection?.isSelected(row.id) ? 'var(--mantine-color-indigo-0)' : undefined}
            >
              {selection && (
                <Table.Td>
                  <Checkbox
                    size="xs"
                    aria-label={`Select ${row.hostname}`}
                    checked={selection.isSelected(row.id)}
                    onChange={() => selection.toggle(row.id, row.hostname)}
                  />
                </Table.Td>
              )}
              <Table.Td>
                <Anchor component={Link} href={`/hosts/${row.id}`} fw={600} size="sm">
                  {row.hostname}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <Stack gap={0}>
                  <OnlineBadge online={row.online} size="sm" />
                  <Ago date={row.lastSeenAt} prefix="last seen" size="xs" c="dimmed" never="never seen" />
                </Stack>
              </Table.Td>
              <Table.Td>
                <Text size="sm" ff="monospace">
                  {row.arch ?? '—'}
                </Text>
              </Table.Td>
              <Table.Td>
                <Text size="xs" ff="monospace" c="dimmed">
                  {row.kernel ?? '—'}
                </Text>
              </Table.Td>
              <Table.Td>
                <Text size="xs" c={row.dockerVersion ? undefined : 'dimmed'}>
                  {row.dockerVersion ?? 'no docker'}
                </Text>
              </Table.Td>
              <Table.Td>
                {row.group ? (
                  <Badge variant="default" size="sm">
                    {row.group}
                  </Badge>
                ) : (
                  <Text size="xs" c="dimmed">
                    —
                  </Text>
                )}
              </Table.Td>
              <Table.Td>
                <RegistrationBar row={row} />
              </Table.Td>
              <Table.Td>
                <DriftBadge drift={row.drift} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** The host's cells as one stacked bar: how much is right, missing, drifted... at a glance. */
function RegistrationBar({ row }: { row: FleetRow }) {
  const counts = cellCounts(row);
  const total = CELL_STATES.reduce((n, s) => n + counts[s], 0);
  if (total === 0)
    return (
      <Text size="xs" c="dimmed">
        no qemu entries
      </Text>
    );
  const detail = CELL_STATES.filter((s) => counts[s] > 0)
    .map((s) => `${counts[s]} ${CELL_LOOK[s].label}`)
    .join(' · ');
  return (
    <Tooltip label={detail}>
      <Group gap={8} wrap="nowrap">
        <Progress.Root size={8} w={110} radius="xl">
          {CELL_STATES.filter((s) => counts[s] > 0).map((s) => (
            <Progress.Section
              key={s}
              value={(counts[s] / total) * 100}
              color={CELL_LOOK[s].outline ? 'red.3' : CELL_LOOK[s].color}
            />
          ))}
        </Progress.Root>
        <Text size="xs" c="dimmed" style={{ whiteSpace: 'nowrap' }}>
          {counts.registered}/{total}
        </Text>
      </Group>
    </Tooltip>
  );
}
