'use client';
import { Button, Card, Group, Text } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconArrowsDiff, IconBox } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useCan } from '../auth/session.tsx';
import { useTRPC } from '../trpc/client.ts';
import { Empty, ErrorState, TableSkeleton } from '../ui/states.tsx';
import { Ago } from '../ui/time.tsx';
import { CatalogueFilters, NO_FILTER, type TagFilter } from './catalogue-filters.tsx';
import { CatalogueGrid } from './catalogue-grid.tsx';
import { CompareModal } from './compare-modal.tsx';
import { RepositorySelect } from './repository-select.tsx';
import { SyncButton, SyncStatus, type SyncState } from './repository-sync.tsx';
import { TagTable } from './tag-table.tsx';
import { VersionCard } from './version-card.tsx';

/** One repository's catalogue: the picker, sync and filters above its tags, by version. */
export function RepositoryCatalogue({
  repositoryId,
  repositories,
  onRepository,
  syncState,
}: {
  repositoryId: string;
  repositories: { value: string; label: string }[];
  onRepository: (id: string) => void;
  syncState: SyncState | null;
}) {
  const lastSyncedAt = syncState?.lastSyncedAt ?? null;
  const trpc = useTRPC();
  const canSync = useCan('operator');
  const [filter, setFilter] = useState<TagFilter>(NO_FILTER);
  const [comparing, setComparing] = useState(false);
  const [typed] = useDebouncedValue(
    { arch: filter.arch.trim(), from: filter.from.trim(), to: filter.to.trim() },
    300,
  );
  const versions = useQuery(trpc.catalogue.versions.queryOptions({ repositoryId }));
  const input = {
    repositoryId,
    ...(filter.version ? { version: filter.version } : {}),
    ...(typed.arch ? { arch: typed.arch } : {}),
    ...(typed.from ? { from: typed.from } : {}),
    ...(typed.to ? { to: typed.to } : {}),
  };
  const browse = useQuery(
    trpc.catalogue.browse.queryOptions(input, { placeholderData: (previous) => previous }),
  );
  const versionOptions = (versions.data ?? []).flatMap((v) =>
    v.version === null ? [] : [{ value: v.version, label: `${v.version} (${v.tags} tags)` }],
  );
  return (
    <>
      <Card>
        {/* The repository on a row of its own: its names can be long. */}
        <Group justify="space-between" align="flex-end" wrap="wrap" gap="md">
          <RepositorySelect
            label="Repository"
            data={repositories}
            value={repositoryId}
            onChange={(v) => v && onRepository(v)}
            allowDeselect={false}
            style={{ flex: '1 1 340px' }}
            maw={720}
          />
          <Group gap="xs">
            <Button
              variant="default"
              leftSection={<IconArrowsDiff size={16} />}
              disabled={versionOptions.length < 2}
              onClick={() => setComparing(true)}
            >
              Compare versions
            </Button>
            {canSync && <SyncButton repositoryId={repositoryId} lastSyncedAt={lastSyncedAt} />}
          </Group>
        </Group>
        <CatalogueFilters
          filter={filter}
          onChange={(patch) => setFilter((f) => ({ ...f, ...patch }))}
          versionOptions={versionOptions}
        />
        {syncState && <SyncStatus state={syncState} />}
      </Card>
      {browse.isPending ? (
        <Card padding={0}>
          <TableSkeleton rows={8} columns={6} />
        </Card>
      ) : browse.isError ? (
        <ErrorState
          title="Could not load the catalogue"
          error={browse.error}
          onRetry={() => void browse.refetch()}
        />
      ) : browse.data.total === 0 ? (
        <Card>
          <Empty
            icon={<IconBox size={22} />}
            title={lastSyncedAt ? 'No tag matches' : 'Not synced yet'}
            description={
              lastSyncedAt
                ? 'Clear a filter, or sync again if images were pushed since.'
                : 'Sync from the registry to read its tags.'
            }
          />
        </Card>
      ) : (
        <>
          <Text size="sm" c="dimmed">
            {browse.data.total.toLocaleString()} tag{browse.data.total === 1 ? '' : 's'} in{' '}
            {browse.data.versions.length} version{browse.data.versions.length === 1 ? '' : 's'}
            {browse.data.moreVersions > 0 &&
              ` · ${browse.data.moreVersions} older versions not shown: pick one above`}
            {lastSyncedAt && (
              <>
                {' · synced '}
                <Ago date={lastSyncedAt} size="sm" />
              </>
            )}
          </Text>
          <CatalogueGrid versions={browse.data.versions} />
          {browse.data.versions.map((v) => (
            <VersionCard key={v.version} version={v} reference={browse.data.repository.reference} />
          ))}
          {browse.data.other.length > 0 && (
            <Card padding={0}>
              <Group p="md" pb="xs">
                <Text fw={600}>Other tags</Text>
                <Text size="sm" c="dimmed">
                  outside the version × architecture scheme
                </Text>
              </Group>
              <TagTable tags={browse.data.other} />
            </Card>
          )}
        </>
      )}
      <CompareModal
        opened={comparing}
        onClose={() => setComparing(false)}
        repositoryId={repositoryId}
        versions={versionOptions.map((v) => v.value)}
      />
    </>
  );
}
