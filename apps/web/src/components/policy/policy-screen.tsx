'use client';
import { Alert, Button, Card, Grid, Group, Select, Stack, Table, Text } from '@mantine/core';
import { IconInfoCircle, IconPlus, IconShieldOff } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useCan } from '../auth/session.tsx';
import { PageHeader } from '../shell/page-header.tsx';
import { useTRPC } from '../trpc/client.ts';
import { GroupName } from '../ui/badges.tsx';
import { CardSkeleton, Empty, ErrorState } from '../ui/states.tsx';
import { PolicyCard } from './policy-form.tsx';

export function PolicyScreen() {
  const trpc = useTRPC();
  const isAdmin = useCan('admin');
  const policies = useQuery(trpc.policy.list.queryOptions());
  const drift = useQuery(
    trpc.fleet.drift.queryOptions(undefined, { refetchInterval: 60_000, staleTime: 30_000 }),
  );
  const summary = useQuery(trpc.fleet.summary.queryOptions());
  const lintContext = useQuery(trpc.policy.lintContext.queryOptions()).data;
  const [adding, setAdding] = useState<string | null>(null);
  const [creatingFleet, setCreatingFleet] = useState(false);

  if (policies.isError)
    return (
      <ErrorState
        title="Could not load policies"
        error={policies.error}
        onRetry={() => void policies.refetch()}
      />
    );
  const fleet = policies.data?.find((p) => p.scope === 'fleet') ?? null;
  const groups = policies.data?.filter((p) => p.scope === 'group') ?? [];
  const driftOf = (group: string | null) => drift.data?.groups.find((g) => g.group === group);
  const knownGroups = (summary.data?.groups ?? [])
    .map((g) => g.name)
    .filter((g) => !groups.some((p) => p.groupName === g));

  return (
    <Stack gap="lg">
      <PageHeader
        title="Policy"
        description="What every host should have registered, and how. Hosts that differ are drifted; with auto-heal, binfleet fixes them by itself."
      />
      {!isAdmin && (
        <Alert variant="light" color="gray" icon={<IconInfoCircle size={18} />}>
          Policies are changed by admins; you see them read-only.
        </Alert>
      )}
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, lg: 8 }}>
          <Stack gap="lg">
            {policies.isPending ? (
              <CardSkeleton height={420} />
            ) : fleet || creatingFleet ? (
              <PolicyCard
                key={fleet?.id ?? 'new-fleet'}
                groupName={null}
                policy={fleet}
                editable={isAdmin}
                lintContext={lintContext}
                drift={fleetDrift(
                  drift.data?.groups,
                  groups.map((g) => g.groupName),
                )}
                onRemoved={() => setCreatingFleet(false)}
              />
            ) : (
              <Card>
                <Empty
                  icon={<IconShieldOff size={22} />}
                  title="No fleet policy"
                  description="Without a policy binfleet shows what hosts have but cannot tell whether it is right: drift is not computed."
                >
                  {isAdmin && (
                    <Button leftSection={<IconPlus size={16} />} onClick={() => setCreatingFleet(true)}>
                      Create the fleet policy
                    </Button>
                  )}
                </Empty>
              </Card>
            )}
            {groups.map((g) => (
              <PolicyCard
                key={g.id}
                groupName={g.groupName}
                policy={g}
                editable={isAdmin}
                lintContext={lintContext}
                drift={driftOf(g.groupName)}
              />
            ))}
            {adding && !groups.some((g) => g.groupName === adding) && (
              <PolicyCard
                key={`new-${adding}`}
                groupName={adding}
                policy={null}
                editable={isAdmin}
                lintContext={lintContext}
                drift={driftOf(adding)}
                onRemoved={() => setAdding(null)}
              />
            )}
            {isAdmin && (!adding || groups.some((g) => g.groupName === adding)) && policies.data && (
              <Card>
                <Group justify="space-between">
                  <div>
                    <Text fw={600}>Add a group policy</Text>
                    <Text size="xs" c="dimmed">
                      A group&apos;s hosts follow its policy instead of the fleet&apos;s. Hosts get a group on
                      their page or in bulk.
                    </Text>
                  </div>
                  {knownGroups.length > 0 ? (
                    <Select
                      placeholder="Pick a group"
                      data={knownGroups}
                      w={220}
                      value={null}
                      onChange={(v) => setAdding(v)}
                      searchable
                    />
                  ) : (
                    <Text size="sm" c="dimmed" maw={260}>
                      Every group has its policy, or no host has a group yet.
                    </Text>
                  )}
                </Group>
              </Card>
            )}
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 4 }}>
          <Card>
            <Text fw={650}>Drift by group</Text>
            <Text size="xs" c="dimmed" mb="sm">
              Hosts whose kernel entries differ from the policy that applies to them
            </Text>
            {drift.isError ? (
              <ErrorState
                title="Could not compute drift"
                error={drift.error}
                onRetry={() => void drift.refetch()}
              />
            ) : !drift.data ? (
              <CardSkeleton height={160} />
            ) : drift.data.groups.length === 0 ? (
              <Text size="sm" c="dimmed">
                No host has joined yet.
              </Text>
            ) : (
              <Table.ScrollContainer minWidth={300}>
                <Table verticalSpacing={6} fz="sm">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Group</Table.Th>
                      <Table.Th>Policy</Table.Th>
                      <Table.Th ta="right">Hosts</Table.Th>
                      <Table.Th ta="right">Drifted</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {drift.data.groups.map((g) => {
                      const own = groups.some((p) => p.groupName === g.group);
                      return (
                        <Table.Tr key={g.group ?? ''}>
                          <Table.Td>
                            <GroupName group={g.group} />
                          </Table.Td>
                          <Table.Td>
                            <Text size="xs" c="dimmed">
                              {own ? 'group' : fleet ? 'fleet' : 'none'}
                            </Text>
                          </Table.Td>
                          <Table.Td ta="right">{g.hosts.toLocaleString()}</Table.Td>
                          <Table.Td ta="right">
                            {g.hasPolicy ? (
                              <Text size="sm" fw={g.drifted ? 700 : 400} c={g.drifted ? 'orange' : 'dimmed'}>
                                {g.drifted.toLocaleString()}
                              </Text>
                            ) : (
                              <Text size="xs" c="dimmed" title="No policy applies: drift is not computed">
                                not computed
                              </Text>
                            )}
                          </Table.Td>
                        </Table.Tr>
                      );
                    })}
                    <Table.Tr>
                      <Table.Td colSpan={2}>
                        <Text size="sm" fw={700}>
                          Fleet
                        </Text>
                      </Table.Td>
                      <Table.Td ta="right" fw={700}>
                        {drift.data.groups.reduce((n, g) => n + g.hosts, 0).toLocaleString()}
                      </Table.Td>
                      <Table.Td ta="right">
                        {drift.data.withoutPolicy === drift.data.groups.reduce((n, g) => n + g.hosts, 0) ? (
                          <Text size="xs" c="dimmed">
                            no policy
                          </Text>
                        ) : (
                          <Text
                            size="sm"
                            fw={700}
                            c={drift.data.drifted ? 'orange' : drift.data.withoutPolicy ? 'dimmed' : 'teal'}
                          >
                            {drift.data.drifted.toLocaleString()}
                          </Text>
                        )}
                      </Table.Td>
                    </Table.Tr>
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            )}
          </Card>
        </Grid.Col>
      </Grid>
    </Stack>
  );
}

/** Drift of the hosts the fleet policy governs: every group without a policy of its own. */
function fleetDrift(
  groups: readonly { group: string | null; hosts: number; drifted: number }[] | undefined,
  withOwnPolicy: readonly (string | null)[],
) {
  if (!groups) return undefined;
  return groups
    .filter((g) => !withOwnPolicy.includes(g.group))
    .reduce((acc, g) => ({ hosts: acc.hosts + g.hosts, drifted: acc.drifted + g.drifted }), {
      hosts: 0,
      drifted: 0,
    });
}
