'use client';
import { ActionIcon, Button, Code, Table, Text } from '@mantine/core';
import { IconChevronDown, IconChevronRight, IconHistory } from '@tabler/icons-react';
import { Fragment, useState } from 'react';
import { OutcomeBadge } from '../ui/badges.tsx';
import { Empty } from '../ui/states.tsx';
import { Ago, formatDateTime } from '../ui/time.tsx';
import { foldAttempts, groupRepeats } from './audit-groups.ts';
import { EventDetail, Targets, targetsOf, type AuditEvent } from './audit-detail.tsx';

/**
 * Newest first; attempt rows folded into their outcome, runs of one action and outcome folded into
 * one line ("198 failed sign-ins..."), each event's full record on demand. The key columns (when,
 * what, outcome) come first so a phone shows them before it scrolls. `compact`: for one host's
 * trail, without the targets column.
 */
export function AuditTable({
  events,
  compact = false,
}: {
  events: readonly AuditEvent[];
  compact?: boolean;
}) {
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (key: string) =>
    setOpen((s) => {
      const next = new Set(s);
      if (!next.delete(key)) next.add(key);
      return next;
    });
  if (events.length === 0)
    return (
      <Empty
        icon={<IconHistory size={22} />}
        title="No audit events"
        description="Nothing was recorded for these filters."
      />
    );
  const columns = compact ? 6 : 7;
  const eventRow = (e: AuditEvent, nested = false) => (
    <Fragment key={e.id}>
      <Table.Tr data-testid="audit-row">
        <Table.Td pl={nested ? 'xl' : undefined}>
          <Ago date={e.at} size="sm" />
        </Table.Td>
        <Table.Td>
          <Code data-testid="audit-action" style={{ whiteSpace: 'nowrap' }}>
            {e.action}
          </Code>
        </Table.Td>
        <Table.Td>
          <OutcomeBadge outcome={e.outcome} />
        </Table.Td>
        <Table.Td>
          <Text size="sm" fw={500}>
            {e.actorName}
          </Text>
        </Table.Td>
        {!compact && (
          <Table.Td maw={340}>
            <Targets targets={targetsOf(e)} />
          </Table.Td>
        )}
        <Table.Td maw={320}>
          <Text size="sm" lineClamp={1} c={e.detail ? undefined : 'dimmed'}>
            {e.detail ?? '—'}
          </Text>
        </Table.Td>
        <Table.Td>
          <ActionIcon
            variant="subtle"
            color="gray"
            aria-label={`Details of ${e.action} by ${e.actorName} at ${formatDateTime(e.at)}`}
            aria-expanded={open.has(e.id)}
            onClick={() => toggle(e.id)}
          >
            {open.has(e.id) ? <IconChevronDown size={16} /> : <IconChevronRight size={16} />}
          </ActionIcon>
        </Table.Td>
      </Table.Tr>
      {open.has(e.id) && (
        <Table.Tr>
          <Table.Td colSpan={columns} bg="var(--mantine-color-default-hover)">
            <EventDetail event={e} />
          </Table.Td>
        </Table.Tr>
      )}
    </Fragment>
  );
  return (
    <Table.ScrollContainer minWidth={compact ? 640 : 900}>
      <Table verticalSpacing={8} highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={130}>When</Table.Th>
            <Table.Th>Action</Table.Th>
            <Table.Th>Outcome</Table.Th>
            <Table.Th>Actor</Table.Th>
            {!compact && <Table.Th>Targets</Table.Th>}
            <Table.Th>Detail</Table.Th>
            <Table.Th w={44}>More</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {groupRepeats(foldAttempts(events)).map((entry) => {
            if (entry.kind === 'event') return eventRow(entry.event);
            const first = entry.events[0]!;
            const key = `group-${first.id}`;
            return (
              <Fragment key={key}>
                <Table.Tr data-testid="audit-group">
                  <Table.Td>
                    <Ago date={first.at} size="sm" />
                  </Table.Td>
                  <Table.Td>
                    <Code style={{ whiteSpace: 'nowrap' }}>{first.action}</Code>
                  </Table.Td>
                  <Table.Td>
                    <OutcomeBadge outcome={first.outcome} />
                  </Table.Td>
                  <Table.Td colSpan={columns - 3}>
                    <Text size="sm" fw={600} span>
                      {entry.summary}
                    </Text>{' '}
                    <Text size="sm" c="dimmed" span>
                      since <Ago date={entry.events.at(-1)!.at} size="sm" />
                    </Text>{' '}
                    <Button
                      variant="subtle"
                      size="compact-xs"
                      aria-expanded={open.has(key)}
                      onClick={() => toggle(key)}
                    >
                      {open.has(key) ? 'Hide them' : `Show the ${entry.events.length.toLocaleString()}`}
                    </Button>
                  </Table.Td>
                </Table.Tr>
                {open.has(key) && entry.events.map((e) => eventRow(e, true))}
              </Fragment>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
