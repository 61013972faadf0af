'use client';
import { Alert, Badge, Group, List, Paper, ScrollArea, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTRPCClient } from '../trpc/client.ts';
import type { RouterInputs, RouterOutputs } from '../trpc/types.ts';
import { OnlineBadge } from '../ui/badges.tsx';
import { ErrorState } from '../ui/states.tsx';
import { changesLine, driftLine } from './plan-lines.ts';

export type PlanRequest = RouterInputs['plans']['preview'];
export type Plan = RouterOutputs['plans']['preview'];
export type HostPlan = Plan['hosts'][number];

/**
 * The server's dry run (plans.preview) of a job or a policy draft. Sent as a POST (host lists outgrow a
 * URL) but read like a query: cached per request, refetched when the request changes.
 */
export function usePlan(request: PlanRequest | null) {
  const client = useTRPCClient();
  return useQuery({
    queryKey: ['plans.preview', request],
    queryFn: () => client.plans.preview.mutate(request!),
    enabled: request !== null,
    staleTime: 10_000,
    placeholderData: keepPreviousData,
  });
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

/** Hosts it would make drifted, named (the first ten), with why. */
export function BecomeDrifted({ plan, what }: { plan: Plan; what: string }) {
  const named = plan.hosts.filter((h) => h.becomesDrifted);
  if (plan.totals.becomeDrifted === 0) return null;
  return (
    <Alert
      color="orange"
      variant="light"
      icon={<IconAlertTriangle size={18} />}
      title={`${what} makes ${plural(plan.totals.becomeDrifted, 'host')} drift from ${
        plan.totals.becomeDrifted === 1 ? 'its' : 'their'
      } policy`}
      data-testid="plan-become-drifted"
    >
      <List size="sm" spacing={2}>
        {named.slice(0, 10).map((h) => (
          <List.Item key={h.id}>
            <Text span size="sm" ff="monospace" fw={600}>
              {h.hostname}
            </Text>
            {h.drift.length > 0 && `: ${driftLine(h.drift)}`}
          </List.Item>
        ))}
      </List>
      {plan.totals.becomeDrifted > 10 && (
        <Text size="sm" mt={4}>
          and {plural(plan.totals.becomeDrifted - 10, 'more host')}
        </Text>
      )}
    </Alert>
  );
}

/** The selection split: online, offline, already in policy. */
export function PlanSplit({ plan }: { plan: Plan }) {
  const cells = [
    { label: 'Online', value: plan.totals.online },
    { label: 'Offline', value: plan.totals.offline },
    { label: 'Already in policy', value: plan.totals.inPolicy },
    { label: 'Entries change', value: plan.totals.changing },
  ];
  return (
    <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="xs" data-testid="plan-split">
      {cells.map((c) => (
        <Paper key={c.label} withBorder p="xs" radius="sm" role="group" aria-label={`${c.label}: ${c.value}`}>
          <Text size="xs" c="dimmed">
            {c.label}
          </Text>
          <Text fw={700}>{c.value.toLocaleString()}</Text>
        </Paper>
      ))}
    </SimpleGrid>
  );
}

/** One host's changes, spelled out: what goes, what comes, what changes in place. */
export function HostChanges({ host }: { host: HostPlan }) {
  if (host.problem)
    return (
      <Alert color="red" variant="light" icon={<IconAlertTriangle size={18} />} py="xs">
        {host.problem}
      </Alert>
    );
  const none = host.added.length + host.removed.length + host.changed.length === 0;
  return (
    <Stack gap={6} data-testid="host-changes">
      {none && <Text size="sm">No entry changes: the kernel already holds what this asks for.</Text>}
      {host.removed.length > 0 && (
        <ChangeList
          title={`Removes ${plural(host.removed.length, 'entry', 'entries')}`}
          items={host.removed}
        />
      )}
      {host.added.length > 0 && (
        <ChangeList title={`Adds ${plural(host.added.length, 'entry', 'entries')}`} items={host.added} />
      )}
      {host.changed.length > 0 && (
        <ChangeList
          title={`Changes ${plural(host.changed.length, 'entry', 'entries')}`}
          items={host.changed.map((c) => `${c.name}: ${c.what}`)}
        />
      )}
    </Stack>
  );
}

function ChangeList({ title, items }: { title: string; items: readonly string[] }) {
  return (
    <div>
      <Text size="sm" fw={600}>
        {title}
      </Text>
      <Text size="sm" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
        {items.join(', ')}
      </Text>
    </div>
  );
}

/** Per host: offline or not, how it stands with its policy after, and what changes (those that change first). */
export function PlanTable({ plan, excluded }: { plan: Plan; excluded?: ReadonlySet<string> }) {
  return (
    <div>
      <ScrollArea.Autosize mah={260} type="auto" offsetScrollbars="y">
        <Table
          fz="sm"
          verticalSpacing={4}
          aria-label="What changes on each host"
          data-testid="plan-table"
          stickyHeader
        >
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Host</Table.Th>
              <Table.Th>Changes</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {plan.hosts.map((h) => (
              <Table.Tr key={h.id} data-offline={!h.online || undefined}>
                <Table.Td style={{ verticalAlign: 'top' }}>
                  <Text
                    size="sm"
                    ff="monospace"
                    style={{ whiteSpace: 'nowrap' }}
                    td={excluded?.has(h.id) ? 'line-through' : undefined}
                  >
                    {h.hostname}
                  </Text>
                  <Group gap={4} mt={2} wrap="wrap">
                    {!h.online && <OnlineBadge online={false} size="xs" />}
                    <PolicyAfter host={h} />
                  </Group>
                </Table.Td>
                <Table.Td ff="monospace" style={{ overflowWrap: 'anywhere', verticalAlign: 'top' }}>
                  {changesLine(h)}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea.Autosize>
      {plan.totals.hosts > plan.hosts.length && (
        <Text size="xs" c="dimmed" mt={4}>
          The first {plan.hosts.length.toLocaleString()} of {plural(plan.totals.hosts, 'host')}: those that
          change first.
        </Text>
      )}
    </div>
  );
}

function PolicyAfter({ host }: { host: HostPlan }) {
  if (host.driftAfter === null)
    return (
      <Badge color="gray" variant="outline" size="xs">
        no policy
      </Badge>
    );
  if (host.becomesDrifted)
    return (
      <Badge color="orange" variant="light" size="xs">
        becomes drifted
      </Badge>
    );
  if (host.driftAfter === 0)
    return (
      <Badge color="teal" variant="light" size="xs">
        in policy after
      </Badge>
    );
  return (
    <Badge color="orange" variant="outline" size="xs">
      {host.driftAfter} drifted after
    </Badge>
  );
}

/** The dry run's own failure (the plan is advice: it never blocks the action). */
export function PlanError({ error }: { error: unknown }) {
  return <ErrorState title="Could not work out what would change" error={error} />;
}
