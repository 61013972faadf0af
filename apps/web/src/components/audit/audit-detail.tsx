'use client';
import { Anchor, Badge, Code, Group, Popover, SimpleGrid, Stack, Text } from '@mantine/core';
import type { RouterOutputs } from '../trpc/types.ts';
import { formatDateTime } from '../ui/time.tsx';

export type AuditEvent = RouterOutputs['audit']['list']['items'][number];

export const targetsOf = (e: AuditEvent): string[] =>
  Array.isArray(e.targets) ? e.targets.filter((t): t is string => typeof t === 'string') : [];

export function Targets({ targets }: { targets: readonly string[] }) {
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

/** Everything one event recorded, shown when its row is opened. */
export function EventDetail({ event }: { event: AuditEvent }) {
  const params = event.params;
  const hasParams = params !== null && typeof params === 'object' && Object.keys(params).length > 0;
  const targets = targetsOf(event);
  return (
    <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md" py={4}>
      <Stack gap={6}>
        <Field label="When">{formatDateTime(event.at)}</Field>
        <Field label="Who">{event.actorName}</Field>
        <Field label="Targets">
          {targets.length === 0 ? (
            '—'
          ) : (
            <Text size="sm" ff="monospace">
              {targets.join(', ')}
            </Text>
          )}
        </Field>
        {event.detail && <Field label="Detail">{event.detail}</Field>}
        <Field label="Event id">
          <Text size="xs" ff="monospace">
            {event.id}
          </Text>
        </Field>
      </Stack>
      <Stack gap={6}>
        <Text size="xs" fw={600} c="dimmed">
          Parameters
        </Text>
        {hasParams ? (
          <Code block fz="xs">
            {JSON.stringify(params, null, 2)}
          </Code>
        ) : (
          <Text size="sm" c="dimmed">
            none recorded
          </Text>
        )}
      </Stack>
    </SimpleGrid>
  );
}

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" fw={600} c="dimmed">
        {label}
      </Text>
      <Text size="sm" component="div" style={{ overflowWrap: 'anywhere' }}>
        {children}
      </Text>
    </div>
  );
}
