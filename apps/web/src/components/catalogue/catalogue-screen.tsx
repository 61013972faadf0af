'use client';
import {
  Badge,
  Button,
  Card,
  Group,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { IconArrowsDiff, IconBox, IconRefresh, IconServerCog } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { useCan } from '../auth/session.tsx';
import { PageHeader } from '../shell/page-header.tsx';
import { errorMessage, useTRPC } from '../trpc/client.ts';
import type { RouterOutputs } from '../trpc/types.ts';
import { CopyLine, formatBytes, shortDigest } from '../ui/copy-line.tsx';
import { Empty, ErrorState, PageSkeleton, TableSkeleton } from '../ui/states.tsx';
import { Ago, formatDateTime, formatDuration } from '../ui/time.tsx';
import { RegistriesModal } from './registries-modal.tsx';
import { RepositorySelect, repositoryOptions } from './repository-select.tsx';

type Browse = RouterOutputs['catalogue']['browse'];
type CatalogueTag = Browse['versions'][number]['tags'][number];

const KIND_LABEL: Record<CatalogueTag['kind'], string> = {
  version: 'register + all emulators',
  latest: 'register + all emulators',
  register: 'register only',
  'pair-version': 'emulator',
  pair: 'emulator',
  'target-version': 'emulator',
  target: 'emulator',
  other: 'outside the scheme',
};

export function CatalogueScreen() {
  const trpc = useTRPC();
  const isAdmin = useCan('admin');
  // Refreshed now and then: the runner syncs repositories periodically.
  const registries = useQuery(trpc.registries.list.queryOptions(undefined, { refetchInterval: 60_000 }));
  const repositories =
    registries.data?.flatMap((r) =>
      r.repositories.map((repo) => ({ ...repo, host: r.host, registryId: r.id })),
    ) ?? [];
  const [repositoryId, setRepositoryId] = useState<string | null>(null);
  const [managing, setManaging] = useState(false);
  useEffect(() => {
    if (!repositoryId && repositories[0]) setRepositoryId(repositories[0].id);
    if (repositoryId && registries.data && !repositories.some((r) => r.id === repositoryId))
      setRepositoryId(repositories[0]?.id ?? null);
  }, [repositories, repositoryId, registries.data]);

  if (registries.isPending) return <PageSkeleton />;
  const header = (
    <PageHeader
      title="Catalogue"
      description="Emulator images by QEMU version and architecture pair, read from each registry's own API: tags pushed by anyone appear."
      actions={
        isAdmin && (
          <Button
            variant="default"
            leftSection={<IconServerCog size={16} />}
            onClick={() => setManaging(true)}
          >
            Registries
          </Button>
        )
      }
    />
  );
  return (
    <Stack gap="lg">
      {header}
      {registries.isError ? (
        <ErrorState
          title="Could not load registries"
          error={registries.error}
          onRetry={() => void registries.refetch()}
        />
      ) : repositories.length === 0 ? (
        <Card>
          <Empty
            icon={<IconBox size={22} />}
            title="No repository in the catalogue yet"
            description={
              isAdmin
                ? 'Add the registry your emulator images are pushed to, and the repository that holds them.'
                : 'An admin adds registries and repositories; ask one.'
            }
          >
            {isAdmin && <Button onClick={() => setManaging(true)}>Add a registry</Button>}
          </Empty>
        </Card>
      ) : (
        repositoryId && (
          <RepositoryCatalogue
            repositoryId={repositoryId}
            repositories={repositoryOptions(registries.data)}
            onRepository={setRepositoryId}
            syncState={repositories.find((r) => r.id === repositoryId) ?? null}
          />
        )
      )}
      <RegistriesModal opened={managing} onClose={() => setManaging(false)} />
    </Stack>
  );
}

type SyncState = Pick<
  RouterOutputs['registries']['list'][number]['repositories'][number],
  'lastSyncedAt' | 'lastSyncAttemptAt' | 'lastSyncError' | 'lastSyncSummary' | 'autoSyncIntervalMs'
>;

/** The last sync of any kind (on demand, after a build, periodic), what came of it, and the timer. */
function SyncStatus({ state }: { state: SyncState }) {
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

function RepositoryCatalogue({
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
  const queryClient = useQueryClient();
  const canSync = useCan('operator');
  const [version, setVersion] = useState<string | null>(null);
  const [arch, setArch] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [comparing, setComparing] = useState(false);
  const [filter] = useDebouncedValue({ arch: arch.trim(), from: from.trim(), to: to.trim() }, 300);
  const versions = useQuery(trpc.catalogue.versions.queryOptions({ repositoryId }));
  const input = {
    repositoryId,
    ...(version ? { version } : {}),
    ...(filter.arch ? { arch: filter.arch } : {}),
    ...(filter.from ? { from: filter.from } : {}),
    ...(filter.to ? { to: filter.to } : {}),
  };
  const browse = useQuery(
    trpc.catalogue.browse.queryOptions(input, { placeholderData: (previous) => previous }),
  );
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
            {canSync && (
              <Tooltip label={lastSyncedAt ? `Last synced ${formatDateTime(lastSyncedAt)}` : 'Never synced'}>
                <Button
                  leftSection={<IconRefresh size={16} />}
                  loading={sync.isPending}
                  onClick={() => sync.mutate({ repositoryId })}
                >
                  Sync from registry
                </Button>
              </Tooltip>
            )}
          </Group>
        </Group>
        <Group align="flex-end" gap="sm" wrap="wrap" mt="md">
          <Select
            label="Version"
            placeholder="Newest versions"
            data={versionOptions}
            value={version}
            onChange={setVersion}
            clearable
            searchable
            w={240}
            data-testid="catalogue-version"
          />
          <TextInput
            label="Architecture"
            description="either side; any alias"
            placeholder="arm64, armhf, s390x…"
            value={arch}
            onChange={(e) => setArch(e.currentTarget.value)}
            w={170}
            data-testid="catalogue-arch"
          />
          <TextInput
            label="From"
            placeholder="x86_64, amd64…"
            value={from}
            onChange={(e) => setFrom(e.currentTarget.value)}
            w={130}
          />
          <TextInput
            label="To"
            placeholder="aarch64, arm64v8…"
            value={to}
            onChange={(e) => setTo(e.currentTarget.value)}
            w={130}
          />
        </Group>
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
          {browse.data.versions.map((v) => (
            <VersionCard key={v.version} version={v} />
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

function VersionCard({ version }: { version: Browse['versions'][number] }) {
  const build = version.tags.find((t) => t.build)?.build;
  const run = version.tags.find((t) => t.kind === 'version')?.run ?? version.tags[0]!.run;
  return (
    <Card padding={0} data-testid={`version-${version.version}`}>
      <Group p="md" pb="xs" justify="space-between" wrap="wrap" gap="sm">
        <Group gap="sm">
          <Text fw={700} ff="monospace">
            {version.version}
          </Text>
          {version.created && <Ago date={version.created} size="sm" c="dimmed" prefix="built" />}
          {build && (
            <Tooltip
              label={`${build.packageName} ${build.packageVersion}, sha256 ${build.packageSha256}`}
              multiline
              maw={420}
            >
              <Badge
                variant="light"
                color="indigo"
                component={Link}
                href={`/builds/${build.id}`}
                style={{ cursor: 'pointer' }}
              >
                QEMU {build.qemuVersion} · our build
              </Badge>
            </Tooltip>
          )}
        </Group>
        <CopyLine text={run} label="Copy the register command" />
      </Group>
      <TagTable tags={version.tags} />
    </Card>
  );
}

function TagTable({ tags }: { tags: readonly CatalogueTag[] }) {
  return (
    <Table.ScrollContainer minWidth={960}>
      <Table verticalSpacing={6} highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Tag</Table.Th>
            <Table.Th>Architectures</Table.Th>
            <Table.Th>Digest</Table.Th>
            <Table.Th ta="right">Size</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th>Pull</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {tags.map((t) => (
            <Table.Tr key={t.tag} data-testid={`tag-${t.tag}`}>
              <Table.Td>
                <Text size="sm" ff="monospace" fw={600}>
                  {t.tag}
                </Text>
                <Text size="xs" c="dimmed">
                  {KIND_LABEL[t.kind]}
                </Text>
              </Table.Td>
              <Table.Td style={{ whiteSpace: 'nowrap' }}>
                {t.to ? (
                  <Text size="sm">
                    {t.from ?? '?'} → <b>{t.to}</b>
                  </Text>
                ) : (
                  <Text size="sm" c="dimmed">
                    {t.from ? `on ${t.from}` : (t.platform ?? '—')}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>
                <Tooltip label={t.digest} maw={560} multiline>
                  <Text size="xs" ff="monospace" data-testid="tag-digest">
                    {shortDigest(t.digest)}
                  </Text>
                </Tooltip>
              </Table.Td>
              <Table.Td ta="right" style={{ whiteSpace: 'nowrap' }}>
                <Text size="sm">{formatBytes(t.size)}</Text>
              </Table.Td>
              <Table.Td style={{ whiteSpace: 'nowrap' }}>
                {t.created ? <Ago date={t.created} size="sm" /> : '—'}
              </Table.Td>
              <Table.Td maw={420}>
                <CopyLine text={t.pull} label="Copy the pull command" testId="tag-pull" wrap />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function CompareModal({
  opened,
  onClose,
  repositoryId,
  versions,
}: {
  opened: boolean;
  onClose: () => void;
  repositoryId: string;
  versions: string[];
}) {
  const trpc = useTRPC();
  const [a, setA] = useState<string | null>(null);
  const [b, setB] = useState<string | null>(null);
  useEffect(() => {
    if (opened) {
      setA(versions[1] ?? null);
      setB(versions[0] ?? null);
    }
  }, [opened, versions]);
  const compare = useQuery(
    trpc.catalogue.compare.queryOptions(
      { repositoryId, a: a ?? '', b: b ?? '' },
      { enabled: opened && !!a && !!b },
    ),
  );
  const COLOR = { same: 'gray', changed: 'blue', added: 'teal', removed: 'orange' } as const;
  return (
    <Modal opened={opened} onClose={onClose} title="Compare two versions" size="xl">
      <Stack>
        <Group grow>
          <Select label="Older" data={versions} value={a} onChange={setA} searchable />
          <Select label="Newer" data={versions} value={b} onChange={setB} searchable />
        </Group>
        {compare.isError ? (
          <ErrorState error={compare.error} />
        ) : compare.data ? (
          <Table verticalSpacing={6}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Image</Table.Th>
                <Table.Th>{a}</Table.Th>
                <Table.Th>{b}</Table.Th>
                <Table.Th w={150}>Change</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {compare.data.map((row) => (
                <Table.Tr key={row.key}>
                  <Table.Td>
                    <Text size="sm" ff="monospace">
                      {row.key}
                    </Text>
                  </Table.Td>
                  {[row.a, row.b].map((side, i) => (
                    <Table.Td key={i} style={{ whiteSpace: 'nowrap' }}>
                      {side ? (
                        <Text size="xs" ff="monospace" title={side.digest}>
                          {shortDigest(side.digest)} · {formatBytes(side.size)}
                        </Text>
                      ) : (
                        <Text size="xs" c="dimmed">
                          —
                        </Text>
                      )}
                    </Table.Td>
                  ))}
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>
                    <Group gap={6} wrap="nowrap">
                      <Badge
                        variant="light"
                        color={COLOR[row.change as keyof typeof COLOR]}
                        style={{ flexShrink: 0, overflow: 'visible' }}
                      >
                        {row.change}
                      </Badge>
                      {row.sizeDelta ? (
                        <Text size="xs" c="dimmed">
                          {row.sizeDelta > 0 ? '+' : '−'}
                          {formatBytes(Math.abs(row.sizeDelta))}
                        </Text>
                      ) : null}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        ) : (
          <TableSkeleton rows={4} columns={4} />
        )}
        <Text size="xs" c="dimmed">
          Digests differ whenever an image was rebuilt, even from the same emulator binary.
        </Text>
      </Stack>
    </Modal>
  );
}
