'use client';
import { BarChart } from '@mantine/charts';
import {
  Card,
  Grid,
  Group,
  Progress,
  SimpleGrid,
  Skeleton,
  Stack,
  Table,
  Text,
  ThemeIcon,
  UnstyledButton,
  VisuallyHidden,
} from '@mantine/core';
import {
  IconAlertOctagon,
  IconAlertTriangle,
  IconChartBar,
  IconPlugConnected,
  IconPlugConnectedX,
  IconServer2,
} from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useTRPC } from '../trpc/client.ts';
import { GroupName } from '../ui/badges.tsx';
import { CardSkeleton, Empty, ErrorState } from '../ui/states.tsx';

/** Hosts / online / offline / needs attention / drifted: the cards also set their filter. */
export function SummaryCards({
  onOnlineFilter,
  onDriftedFilter,
  onAttentionFilter,
}: {
  onOnlineFilter: (online: boolean | null) => void;
  onDriftedFilter: () => void;
  onAttentionFilter: () => void;
}) {
  const trpc = useTRPC();
  const summary = useQuery(trpc.fleet.summary.queryOptions(undefined, { refetchInterval: 15_000 }));
  const drift = useQuery(
    trpc.fleet.drift.queryOptions(undefined, { refetchInterval: 60_000, staleTime: 30_000 }),
  );
  if (summary.isError)
    return (
      <ErrorState
        title="Could not load the fleet summary"
        error={summary.error}
        onRetry={() => void summary.refetch()}
      />
    );
  const s = summary.data;
  const offline = s ? s.total - s.online : 0;
  return (
    <SimpleGrid cols={{ base: 2, md: 3, xl: 5 }} spacing="md">
      <Stat
        icon={<IconServer2 size={20} />}
        color="indigo"
        label="Hosts"
        shows="all hosts"
        value={s?.total}
        onClick={() => onOnlineFilter(null)}
      >
        {s &&
          `${s.archs.length} host architecture${s.archs.length === 1 ? '' : 's'} · ${s.groups.length} group${s.groups.length === 1 ? '' : 's'}`}
      </Stat>
      <Stat
        icon={<IconPlugConnected size={20} />}
        color="teal"
        label="Online"
        shows="online hosts"
        value={s?.online}
        onClick={() => onOnlineFilter(true)}
      >
        {s && s.total > 0 && (
          <Progress
            value={(s.online / s.total) * 100}
            color="teal"
            size="sm"
            mt={6}
            aria-label="Share of hosts online"
          />
        )}
      </Stat>
      <Stat
        icon={<IconPlugConnectedX size={20} />}
        color="gray"
        label="Offline"
        shows="offline hosts"
        value={s ? offline : undefined}
        onClick={() => onOnlineFilter(false)}
      >
        {s && (offline === 0 ? 'every host is reporting' : 'missed their heartbeats; last state kept')}
      </Stat>
      <Stat
        icon={<IconAlertOctagon size={20} />}
        color={s && s.attention > 0 ? 'red' : 'gray'}
        label="Needs attention"
        shows="hosts that need attention"
        value={s?.attention}
        onClick={onAttentionFilter}
      >
        {s &&
          (s.attention === 0
            ? 'every agent reachable, binfmt_misc writable, self-tests passed'
            : 'unreachable, binfmt_misc, reconciler, self-test or agent version')}
      </Stat>
      <Stat
        icon={<IconAlertTriangle size={20} />}
        color="orange"
        label="Drifted"
        shows="drifted hosts"
        value={drift.data?.drifted}
        error={drift.isError ? 'could not compute drift' : undefined}
        onClick={onDriftedFilter}
      >
        {drift.data && driftCardText(drift.data, s?.total)}
      </Stat>
    </SimpleGrid>
  );
}

/** Never an all-clear for hosts no policy governs: their drift is not computed. */
function driftCardText(drift: { drifted: number; withoutPolicy: number }, total: number | undefined) {
  if (total !== undefined && total > 0 && drift.withoutPolicy >= total)
    return 'no policy: drift is not computed';
  const unchecked =
    drift.withoutPolicy > 0
      ? ` · ${drift.withoutPolicy.toLocaleString()} host${drift.withoutPolicy === 1 ? '' : 's'} without a policy`
      : '';
  return (
    (drift.drifted === 0 ? 'no host differs from its policy' : 'hosts differ from their policy') + unchecked
  );
}

function Stat({
  icon,
  color,
  label,
  shows,
  value,
  children,
  onClick,
  error,
}: {
  icon: ReactNode;
  color: string;
  label: string;
  /** What a click filters the list to, ending the button's name ("Online 12 … Show online hosts"). */
  shows: string;
  value: number | undefined;
  children?: ReactNode;
  onClick?: () => void;
  error?: string;
}) {
  const body = (
    <Card padding="md" h="100%">
      <Group justify="space-between" align="flex-start" wrap="nowrap">
        <Stack gap={2}>
          <Text size="xs" c="dimmed" tt="uppercase" fw={700}>
            {label}
          </Text>
          {value === undefined ? (
            error ? (
              <Text size="sm" c="red">
                {error}
              </Text>
            ) : (
              <Skeleton height={30} width={80} my={2} />
            )
          ) : (
            <Text fz={28} fw={700} lh={1.2}>
              {value.toLocaleString()}
            </Text>
          )}
        </Stack>
        <ThemeIcon variant="light" color={color} size={38} radius="md">
          {icon}
        </ThemeIcon>
      </Group>
      <Text size="xs" c="dimmed" mt={4} component="div">
        {children}
      </Text>
      {/* The button's name is what the card shows, then what a click does. */}
      {onClick && <VisuallyHidden>{`. Show ${shows}`}</VisuallyHidden>}
    </Card>
  );
  return onClick ? <UnstyledButton onClick={onClick}>{body}</UnstyledButton> : body;
}

/** How many online hosts can run each architecture now; next to it, drift per group. */
export function CoverageAndGroups() {
  const trpc = useTRPC();
  const coverage = useQuery(trpc.fleet.coverage.queryOptions(undefined, { refetchInterval: 30_000 }));
  const summary = useQuery(trpc.fleet.summary.queryOptions(undefined, { refetchInterval: 15_000 }));
  const drift = useQuery(
    trpc.fleet.drift.queryOptions(undefined, { refetchInterval: 60_000, staleTime: 30_000 }),
  );
  const data = [...(coverage.data ?? [])].sort((a, b) => b.hosts - a.hosts);
  return (
    <Grid gap="md">
      <Grid.Col span={{ base: 12, lg: 8 }}>
        {coverage.isPending ? (
          <CardSkeleton height={260} />
        ) : (
          <Card h="100%">
            <Group justify="space-between" mb="xs">
              <div>
                <Text fw={650}>Coverage per architecture</Text>
                <Text size="xs" c="dimmed">
                  Online hosts with an enabled qemu entry, i.e. hosts that can run that architecture now
                  {summary.data ? ` (of ${summary.data.online.toLocaleString()} online)` : ''}
                </Text>
              </div>
            </Group>
            {coverage.isError ? (
              <ErrorState
                title="Could not load coverage"
                error={coverage.error}
                onRetry={() => void coverage.refetch()}
              />
            ) : data.length === 0 ? (
              <Empty
                icon={<IconChartBar size={22} />}
                title="No coverage yet"
                description="No online host has a qemu entry enabled. Run Reset + register on some hosts."
              />
            ) : (
              <BarChart
                h={200}
                data={data}
                dataKey="target"
                series={[{ name: 'hosts', label: 'Online hosts', color: 'indigo.6' }]}
                tickLine="y"
                gridAxis="y"
                maxBarWidth={22}
                xAxisProps={{
                  tick: {
                    angle: -50,
                    textAnchor: 'end',
                    fontSize: 11,
                    fill: 'currentColor',
                    fontFamily: 'var(--mantine-font-family-monospace)',
                  },
                  height: 72,
                  interval: 0,
                }}
                yAxisProps={{ width: 40, allowDecimals: false }}
              />
            )}
          </Card>
        )}
      </Grid.Col>
      <Grid.Col span={{ base: 12, lg: 4 }}>
        <Card h="100%">
          <Text fw={650}>Groups</Text>
          <Text size="xs" c="dimmed" mb="sm">
            Hosts per group and how many differ from their policy
          </Text>
          {drift.isError ? (
            <ErrorState
              title="Could not compute drift"
              error={drift.error}
              onRetry={() => void drift.refetch()}
            />
          ) : !drift.data ? (
            <Stack gap="xs">
              {[0, 1, 2, 3].map((i) => (
                <Skeleton key={i} height={18} />
              ))}
            </Stack>
          ) : drift.data.groups.length === 0 ? (
            <Text size="sm" c="dimmed">
              No host has joined yet.
            </Text>
          ) : (
            <Table.ScrollContainer minWidth={420}>
              <Table verticalSpacing={6} fz="sm">
                <Table.Tbody>
                  {drift.data.groups.map((g) => (
                    <Table.Tr key={g.group ?? ''}>
                      <Table.Td>
                        <GroupName group={g.group} />
                      </Table.Td>
                      <Table.Td ta="right">{g.hosts.toLocaleString()}</Table.Td>
                      <Table.Td ta="right" w={110}>
                        {!g.hasPolicy ? (
                          <Text size="sm" c="dimmed">
                            no policy
                          </Text>
                        ) : g.drifted > 0 ? (
                          <Text size="sm" c="var(--mantine-color-orange-text)" fw={600}>
                            {g.drifted.toLocaleString()} drifted
                          </Text>
                        ) : (
                          <Text size="sm" c="var(--mantine-color-teal-text)">
                            in policy
                          </Text>
                        )}
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
        </Card>
      </Grid.Col>
    </Grid>
  );
}
