'use client';
import { Button, Card, SimpleGrid, Stack, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconBan, IconRepeat } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useParams, useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { isFinished } from '~/shared/run-status.ts';
import { useCan } from '../auth/session.tsx';
import { PageHeader } from '../shell/page-header.tsx';
import { usePageTitle } from '../shell/page-title.ts';
import { ConfirmModal } from '../ui/confirm-modal.tsx';
import { PageError } from '../ui/page-error.tsx';
import { errorMessage, httpStatusOf, useTRPC } from '../trpc/client.ts';
import type { BuildDetail } from '../trpc/types.ts';
import { RunStatusBadge } from '../ui/badges.tsx';
import { Crumbs } from '../ui/crumbs.tsx';
import { PageSkeleton } from '../ui/states.tsx';
import { Ago, formatDateTime } from '../ui/time.tsx';
import { ChecksCard } from './build-checks-card.tsx';
import { LogCard } from './build-log-card.tsx';
import { PackageCard } from './build-package-card.tsx';
import { hostsLabel } from './hosts-label.ts';
import { Steps } from './build-steps.tsx';
import { TagsCard } from './pushed-tags-card.tsx';

const BUILDS = { href: '/builds', label: 'Builds' };

export function BuildScreen() {
  const { id } = useParams<{ id: string }>();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const build = useQuery(trpc.builds.get.queryOptions({ id }));
  const open = build.data !== undefined && !isFinished(build.data.status);
  const finished = build.data !== undefined && isFinished(build.data.status);
  useEffect(() => {
    if (finished) void queryClient.invalidateQueries({ queryKey: trpc.catalogue.pathKey() });
  }, [finished, queryClient, trpc]);
  // The live log: each event is the whole build as the database has it, mirrored from the builder.
  useSubscription(
    trpc.builds.watch.subscriptionOptions(
      { id },
      {
        enabled: open,
        onData: (event) => queryClient.setQueryData(trpc.builds.get.queryKey({ id }), event.data),
      },
    ),
  );

  usePageTitle(build.data && `${build.data.packageName} ${build.data.packageVersion}`.trim(), 'Build');

  if (build.isPending) return <PageSkeleton />;
  if (build.isError) {
    return (
      <PageError
        crumbs={<Crumbs parent={BUILDS} label={id} />}
        title={httpStatusOf(build.error) === 404 ? 'Build not found' : 'Could not load this build'}
        error={build.error}
        onRetry={() => void build.refetch()}
      />
    );
  }
  const b = build.data;
  const title = `${b.packageName}${b.packageVersion ? ` ${b.packageVersion}` : ''}`;
  return (
    <Stack gap="lg">
      <div>
        <Crumbs parent={BUILDS} label={title} />
        <PageHeader
          title={title}
          badges={<RunStatusBadge status={b.status} size="lg" data-testid="build-status" />}
          description={
            <>
              On {b.builder?.hostname ?? 'a removed host'} for{' '}
              {b.repository?.reference ?? 'a removed repository'} · {hostsLabel(b.hostArchs)} · by{' '}
              {b.triggeredBy ?? 'someone removed'} · <Ago date={b.createdAt} size="sm" /> (
              {formatDateTime(b.createdAt)})
            </>
          }
          actions={<BuildButtons build={b} />}
        />
      </div>
      {b.error && (
        <Card withBorder style={{ borderColor: 'var(--mantine-color-red-outline)' }}>
          <Text size="sm" c="var(--mantine-color-red-text)" data-testid="build-error">
            {b.error}
          </Text>
        </Card>
      )}
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        <PackageCard build={b} />
        <Card style={{ gridColumn: 'span 2' }}>
          <Text fw={600} mb="sm">
            Steps
          </Text>
          <Steps build={b} />
        </Card>
      </SimpleGrid>
      <LogCard build={b} live={open} />
      <ChecksCard build={b} />
      <TagsCard build={b} />
    </Stack>
  );
}

function BuildButtons({ build }: { build: BuildDetail }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const isAdmin = useCan('admin');
  const refresh = () => void queryClient.invalidateQueries({ queryKey: trpc.builds.pathKey() });
  const onError = (title: string) => (error: unknown) =>
    notifications.show({ color: 'red', title, message: errorMessage(error) });
  const [confirmCancel, setConfirmCancel] = useState(false);
  const cancel = useMutation(
    trpc.builds.cancel.mutationOptions({
      onSuccess: () => {
        setConfirmCancel(false);
        refresh();
      },
    }),
  );
  const rerun = useMutation(
    trpc.builds.rerun.mutationOptions({
      onSuccess: ({ id }) => {
        refresh();
        router.push(`/builds/${id}`);
      },
      onError: onError('Could not re-run'),
    }),
  );
  if (!isAdmin) return null;
  return isFinished(build.status) ? (
    <Button
      variant="default"
      leftSection={<IconRepeat size={16} />}
      loading={rerun.isPending}
      onClick={() => rerun.mutate({ id: build.id })}
    >
      Re-run
    </Button>
  ) : (
    <>
      <Button
        color="red"
        variant="light"
        leftSection={<IconBan size={16} />}
        onClick={() => setConfirmCancel(true)}
      >
        Cancel build
      </Button>
      <ConfirmModal
        opened={confirmCancel}
        onClose={() => setConfirmCancel(false)}
        title="Cancel this build?"
        error={cancel.error}
        cancelLabel="Back"
        cancelDisabled={cancel.isPending}
        confirmLabel="Cancel build"
        confirmColor="red"
        loading={cancel.isPending}
        onConfirm={() => cancel.mutate({ id: build.id })}
      >
        The builder stops the build and removes what it made in its dockerd. Tags are pushed only in the last
        step: a build cancelled before it pushes nothing, and the catalogue stays as it is. Re-run it later as
        a new build.
      </ConfirmModal>
    </>
  );
}
