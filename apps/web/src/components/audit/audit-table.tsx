'use client';
import { Anchor, Badge, Button, Code, Group, Popover, Stack, Table, Text } from '@mantine/core';
import { IconHistory } from '@tabler/icons-react';
import type { RouterOutputs } from '../trpc/types.ts';
import { OutcomeBadge } from '../ui/badges.tsx';
import { Empty } from '../ui/states.tsx';
import { Ago } from '../ui/time.tsx';

type AuditEvent = RouterOutputs['audit']['list']['items'][number];

/** `compact`: for one host's trail, where the other targets of an event matter less than what it did. */
export function AuditTable({
  events,
  compact = false,
}: {
  events: readonly AuditEvent[];
  compact?: boolean;
}) {
  if (events.length === 0)
    return (
      <Empty
        icon={<IconHistory size={22} />}
        title="No audit events"
        description="Nothing was recorded for these filters."
      />
    );
  return (
    <Table.ScrollContainer minWidth={compact ? 640 : 900}>
      <Table verticalSpacing={8} highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={130}>When</Table.Th>
            <Table.Th>Actor</Table.Th>
            <Table.Th>Action</Table.Th>
            {!compact && <Table.Th>Targets</Table.Th>}
            <Table.Th>Outcome</Table.Th>
            <Table.Th>Details</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {events.map((e) => (
            <Table.Tr key={e.id}>
              <Table.Td>
                <Ago date={e.at} size="sm" />
              </Table.Td>
              <Table.Td>
                <Text size="sm" fw={500}>
                  {e.actorName}
                </Text>
              </Table.Td>
              <Table.Td>
                <Code data-testid="audit-action">{e.action}</Code>
              </Table.Td>
              {!compact && (
                <Table.Td maw={340}>
                  <Targets targets={Array.isArray(e.targets) ? (e.targets as string[]) : []} />
                </Table.Td>
              )}
              <Table.Td>
                <OutcomeBadge outcome={e.outcome} />
              </Table.Td>
              <Table.Td maw={360}>
                <Details detail={e.detail} params={e.params} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function Targets({ targets }: { targets: readonly string[] }) {
  if (targets.length === 0)
    return (
      <Text size="sm" c="dimmed">
        —
      </Text>
    );
  const shown = targets.slice(0, 3);
  return (
    <Group gap={4}>
      {shown.map((t) => (
        <Badge key={t} variant="default" size="sm" tt="none" fw={500}>
          {t}
        </Badge>
      ))}
      {targets.length > shown.length && (
        <Popover width={320} position="bottom-start" shadow="md">
          <Popover.Target>
            <Anchor component="button" size="xs">
              +{(targets.length - shown.length).toLocaleString()} more
            </Anchor>
          </Popover.Target>
          <Popover.Dropdown mah={260} style={{ overflow: 'auto' }}>
            <Text size="xs" ff="monospace">
              {targets.join(', ')}
            </Text>
          </Popover.Dropdown>
        </Popover>
      )}
    </Group>
  );
}

function Details({ detail, params }: { detail: string | null; params: unknown }) {
  const hasParams = params !== null && typeof params === 'object' && Object.keys(params).length > 0;
  return (
    <Stack gap={2}>
      {detail && <Text size="sm">{detail}</Text>}
      {hasParams && (
        <Popover width={420} position="bottom-start" shadow="md">
          <Popover.Target>
            <Button variant="subtle" size="compact-xs" w="fit-content" px={4}>
              parameters
            </Button>
          </Popover.Target>
          <Popover.Dropdown>
            <Code block fz="xs">
              {JSON.stringify(params, null, 2)}
            </Code>
          </Popover.Dropdown>
        </Popover>
      )}
      {!detail && !hasParams && (
        <Text size="sm" c="dimmed">
          —
        </Text>
      )}
    </Stack>
  );
}
