'use client';
import { Button, Text, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconRefresh } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { errorMessage, useTRPC } from '../trpc/client.ts';
import type { RouterOutputs } from '../trpc/types.ts';
import { Ago, formatDateTime, formatDuration } from '../ui/time.tsx';

export type SyncState = Pick<
  RouterOutputs['registries']['list'][number]['repositories'][number],
  'lastSyncedAt' | 'lastSyncAttemptAt' | 'lastSyncError' | 'lastSyncSummary' | 'autoSyncIntervalMs'
>;

/** Operators: reads the repository's tags from its registry now. */
export function SyncButton({
  repositoryId,
  lastSyncedAt,
}: {
  repositoryId: string;
  lastSyncedAt: SyncState['lastSyncedAt'];
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const sync = useMutation(
    trpc.catalogue.sync.mutationOptions({
      onSuccess: (r) => {
        notifications.show({
          color: 'teal',
          title: `Synced ${r.repository}`,
          message: `${r.tags} tags: ${r.added} new, ${r.updated} changed, ${r.removed} gone.`,
        });
        void queryClient.invalidateQueries({ queryKey: trpc.catalogue.pathKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.registries.list.queryKey() });
      },
      onError: (error) =>
        notifications.show({ color: 'red', title: 'Sync failed', message: errorMessage(error) }),
    }),
  );
  return (
    <Tooltip label={lastSyncedAt ? `Last synced ${formatDateTime(lastSyncedAt)}` : 'Never synced'}>
      <Button
        leftSection={<IconRefresh size={16} />}
        loading={sync.isPending}
        onClick={() => sync.mutate({ repositoryId })}
      >
        Sync from registry
      </Button>
    </Tooltip>
  );
}

/** The last sync of any kind (on demand, after a build, periodic), what came of it, and the timer. */
export function SyncStatus({ state }: { state: SyncState }) {
  return (
    <Text size="sm" c={state.lastSyncError ? 'red' : 'dimmed'} mt="sm" data-testid="catalogue-sync-status">
      <LastSync state={state} />
      <Text
        span
        size="sm"
        c="dimmed"
        title="BINFLEET_CATALOGUE_SYNC_INTERVAL_MS on the server"
        data-testid="catalogue-auto-sync"
      >
        {' · '}
        {state.autoSyncIntervalMs > 0
          ? `Automatic sync every ${formatDuration(state.autoSyncIntervalMs)}`
          : 'Automatic sync off'}
      </Text>
    </Text>
  );
}

function LastSync({ state }: { state: SyncState }) {
  if (!state.lastSyncAttemptAt && !state.lastSyncedAt) return 'Never synced';
  if (state.lastSyncError) {
    return (
      <>
        Last sync failed <Ago date={state.lastSyncAttemptAt!} size="sm" c="red" />: {state.lastSyncError}
        {state.lastSyncedAt && (
          <Text span size="sm" c="dimmed">
            {' '}
            (last success <Ago date={state.lastSyncedAt} size="sm" />)
          </Text>
        )}
      </>
    );
  }
  return (
    <>
      Last synced <Ago date={(state.lastSyncAttemptAt ?? state.lastSyncedAt)!} size="sm" />
      {state.lastSyncSummary && ` · ${state.lastSyncSummary}`}
    </>
  );
}
