'use client';
import { Anchor, Badge, Checkbox, Group, List, Progress, Stack, Table, Text, Tooltip } from '@mantine/core';
import { IconAlertOctagon } from '@tabler/icons-react';
import Link from 'next/link';
import { DriftBadge, OnlineBadge } from '../ui/badges.tsx';
import { Ago } from '../ui/time.tsx';
import type { FleetRow } from '../trpc/types.ts';
import { CELL_LOOK, CELL_STATES, cellCounts } from './cell-states.ts';
import type { PageSelection } from './selection.ts';

export function HostTable({
  rows,
  selection,
  servedAgentVersion,
}: {
  rows: readonly FleetRow[];
  selection: PageSelection | null;
  /** The agent version this control plane serves, to compare each host's with. */
  servedAgentVersion: string | null | undefined;
}) {
  // The columns that say whether a host is fine come first: a phone shows them before it scrolls.
  return (
    <Table.ScrollContainer minWidth={1100}>
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
            <Table.Th w={190}>Registrations</Table.Th>
            <Table.Th>Policy</Table.Th>
            <Table.Th>Arch</Table.Th>
            <Table.Th>Group</Table.Th>
            <Table.Th>Kernel</Table.Th>
            <Table.Th>Docker</Table.Th>
            <Table.Th>Agent</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((row) => (
            <Table.Tr
              key={row.id}
              bg={selection?.isSelected(row.id) ? 'var(--mantine-color-indigo-light)' : undefined}
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
                <Group gap={6} wrap="nowrap">
                  <Anchor
                    component={Link}
                    href={`/hosts/${row.id}`}
                    fw={600}
                    size="sm"
                    style={{ whiteSpace: 'nowrap' }}
                  >
                    {row.hostname}
                  </Anchor>
                  {row.transport === 'dial-out' && (
                    <Badge
                      variant="outline"
                      color="gray"
                      size="xs"
                      title="The agent dials out: no inbound port"
                    >
                      dial-out
                    </Badge>
                  )}
                  <AttentionMarker row={row} />
                </Group>
              </Table.Td>
              <Table.Td>
                <Stack gap={0}>
                  <Group gap={4} wrap="wrap">
                    <OnlineBadge online={row.online} size="sm" style={{ flexShrink: 0 }} />
                    {row.reach.reachable === false && (
                      <Badge variant="light" color="red" size="sm" style={{ flexShrink: 0 }}>
                        unreachable
                      </Badge>
                    )}
                  </Group>
                  <Ago date={row.lastSeenAt} prefix="last seen" size="xs" c="dimmed" never="never seen" />
                </Stack>
              </Table.Td>
              <Table.Td>
                <RegistrationBar row={row} />
              </Table.Td>
              <Table.Td>
                <DriftBadge drift={row.drift} />
              </Table.Td>
              <Table.Td>
                <Text size="sm" ff="monospace">
                  {row.arch ?? '—'}
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
                <AgentVersion row={row} served={servedAgentVersion} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** A red mark beside the host's name when it needs attention; its reasons in the tooltip and for screen readers. */
function AttentionMarker({ row }: { row: FleetRow }) {
  if (row.attention.length === 0) return null;
  const label = `${row.hostname} needs attention: ${row.attention.map((r) => r.message).join(' ')}`;
  return (
    <Tooltip
      multiline
      w={360}
      label={
        <List size="xs" spacing={4}>
          {row.attention.map((r) => (
            <List.Item key={r.kind}>{r.message}</List.Item>
          ))}
        </List>
      }
    >
      <Group
        gap={2}
        wrap="nowrap"
        c="var(--mantine-color-red-text)"
        aria-label={label}
        role="img"
        data-attention={row.attention.map((r) => r.kind).join(' ')}
      >
        <IconAlertOctagon size={16} />
        {row.attention.length > 1 && (
          <Text span size="xs" fw={700}>
            {row.attention.length}
          </Text>
        )}
      </Group>
    </Tooltip>
  );
}

/** The agent's version, marked when it is behind the one this control plane serves. */
function AgentVersion({ row, served }: { row: FleetRow; served: string | null | undefined }) {
  const version = row.agentVersion;
  if (!version)
    return (
      <Text size="xs" c="dimmed">
        —
      </Text>
    );
  const behind = row.attention.some((r) => r.kind === 'agent-behind');
  return (
    <Text
      size="xs"
      ff="monospace"
      c={behind ? 'orange' : undefined}
      fw={behind ? 600 : undefined}
      title={served ? `this control plane serves ${served}` : 'this control plane serves no agent release'}
    >
      {version}
      {behind ? ` < ${served}` : ''}
    </Text>
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
              aria-label={`${CELL_LOOK[s].label}: ${counts[s]} of ${total} entries`}
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
