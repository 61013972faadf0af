'use client';
import { Badge, Grid, Stack } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useParams } from 'next/navigation';
import { JobActionButtons } from '../actions/job-actions.tsx';
import { useCan } from '../auth/session.tsx';
import { PageHeader } from '../shell/page-header.tsx';
import { httpStatusOf, useTRPC } from '../trpc/client.ts';
import { OnlineBadge } from '../ui/badges.tsx';
import { Crumbs } from '../ui/crumbs.tsx';
import { PageError } from '../ui/page-error.tsx';
import { PageSkeleton } from '../ui/states.tsx';
import { usePageTitle } from '../shell/page-title.ts';
import { Ago } from '../ui/time.tsx';
import { AgentWarnings } from './agent-warnings.tsx';
import { FactsCard } from './facts-card.tsx';
import { HostMenu } from './host-menu.tsx';
import { HostTabs } from './host-tabs.tsx';
import { PolicyCard } from './policy-card.tsx';

const FLEET = { href: '/fleet', label: 'Fleet' };

export function HostScreen() {
  const { id } = useParams<{ id: string }>();
  const trpc = useTRPC();
  const host = useQuery(trpc.fleet.host.queryOptions({ id }, { refetchInterval: 15_000 }));
  const canAct = useCan('operator');
  const isAdmin = useCan('admin');

  usePageTitle(host.data?.hostname, 'Host');

  if (host.isPending) return <PageSkeleton />;
  if (host.isError) {
    return (
      <PageError
        crumbs={<Crumbs parent={FLEET} label={id} />}
        title={httpStatusOf(host.error) === 404 ? 'Host not found' : 'Could not load this host'}
        error={host.error}
        onRetry={httpStatusOf(host.error) === 404 ? undefined : () => void host.refetch()}
      />
    );
  }
  const h = host.data;
  return (
    <Stack gap="lg">
      <div>
        <Crumbs parent={FLEET} label={h.hostname} />
        <PageHeader
          title={<span style={{ fontFamily: 'var(--mantine-font-family-monospace)' }}>{h.hostname}</span>}
          badges={
            <>
              <OnlineBadge online={h.online} size="lg" />
              {h.group && (
                <Badge variant="default" size="lg">
                  {h.group}
                </Badge>
              )}
              {h.drift.length > 0 ? (
                <Badge color="orange" variant="light" size="lg">
                  {h.drift.length} drifted
                </Badge>
              ) : h.policy ? (
                <Badge color="teal" variant="light" size="lg">
                  in policy
                </Badge>
              ) : (
                <Badge color="gray" variant="outline" size="lg">
                  no policy
                </Badge>
              )}
            </>
          }
          description={
            <>
              {h.online ? 'Reporting' : 'Not reporting'} ·{' '}
              <Ago date={h.lastSeenAt} prefix="last seen" never="never seen" size="sm" />
              {!h.online && ' · what follows is the last state it reported'}
            </>
          }
          actions={
            <>
              {canAct && <JobActionButtons selection={{ hostIds: [h.id], names: [h.hostname] }} />}
              {isAdmin && <HostMenu host={h} />}
            </>
          }
        />
      </div>
      <AgentWarnings host={h} />
      <Grid gap="md">
        <Grid.Col span={{ base: 12, lg: 7 }}>
          <FactsCard host={h} canEditGroup={canAct} />
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 5 }}>
          <PolicyCard host={h} />
        </Grid.Col>
      </Grid>
      <HostTabs host={h} />
    </Stack>
  );
}
