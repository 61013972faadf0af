'use client';
import {
  ActionBar,
  Alert,
  Anchor,
  Button,
  Card,
  Chip,
  Group,
  Pagination,
  SegmentedControl,
  Select,
  Stack,
  Text,
  TextInput,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconFilterOff, IconLayoutGrid, IconList, IconSearch, IconServerOff } from '@tabler/icons-react';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useEffect, useState } from 'react';
import { JobActionButtons } from '../actions/job-actions.tsx';
import { useCan } from '../auth/session.tsx';
import { PageHeader } from '../shell/page-header.tsx';
import { errorMessage, useTRPC } from '../trpc/client.ts';
import type { HostFilter } from '../trpc/types.ts';
import { Empty, ErrorState, TableSkeleton } from '../ui/states.tsx';
import { notifications } from '@mantine/notifications';
import { AddHostButton } from './add-host-modal.tsx';
import { FirstHost } from './first-host.tsx';
import { CoverageAndGroups, SummaryCards } from './fleet-overview.tsx';
import { FleetMatrix, MatrixLegend } from './fleet-matrix.tsx';
import { HostTable } from './host-table.tsx';
import { useHostSelection } from './selection.ts';

const PAGE_SIZES = ['25', '50', '100', '200'];

/** Filters, page and view live in the URL: a filtered fleet view is a link an admin can share. */
function useFleetParams() {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const online = params.get('online');
  const filter: HostFilter = {
    ...(params.get('q') ? { search: params.get('q')! } : {}),
    ...(online === 'yes' || online === 'no' ? { online: online === 'yes' } : {}),
    ...(params.get('group') ? { group: params.get('group')! } : {}),
    ...(params.get('arch') ? { arch: params.get('arch')! } : {}),
    ...(params.get('drifted') === 'yes' ? { drifted: true } : {}),
    ...(params.get('attention') === 'yes' ? { attention: true } : {}),
  };
  const size = PAGE_SIZES.includes(params.get('size') ?? '') ? Number(params.get('size')) : 50;
  const page = Math.max(1, Math.floor(Number(params.get('page'))) || 1);
  const view = params.get('view') === 'matrix' ? 'matrix' : 'table';
  const update = (patch: Record<string, string | null>) => {
    const next = new URLSearchParams(params.toString());
    for (const [k, v] of Object.entries(patch)) {
      if (v === null || v === '') next.delete(k);
      else next.set(k, v);
    }
    // Any change but the page itself starts again at page 1.
    if (!('page' in patch)) next.delete('page');
    const qs = next.toString();
    router.replace(qs ? `${pathname}?${qs}` : (pathname ?? '/fleet'), { scroll: false });
  };
  return { filter, size, page, view, online, update, raw: params };
}

export function FleetScreen() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canAct = useCan('operator');
  const isAdmin = useCan('admin');
  const { filter, size, page, view, online, update, raw } = useFleetParams();
  const [search, setSearch] = useState(raw.get('q') ?? '');
  const [debounced] = useDebouncedValue(search, 300);
  useEffect(() => {
    // Only the debounced text drives the URL; the URL's own changes must not loop back here.
    if (debounced !== (raw.get('q') ?? '')) update({ q: debounced });
  }, [debounced]);

  const summary = useQuery(trpc.fleet.summary.queryOptions(undefined, { refetchInterval: 15_000 }));
  const hosts = useQuery(
    trpc.fleet.hosts.queryOptions(
      { filter, offset: (page - 1) * size, limit: size },
      { placeholderData: keepPreviousData, refetchInterval: 15_000 },
    ),
  );
  const rows = hosts.data?.items ?? [];
  const total = hosts.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / size));
  const selection = useHostSelection(rows);
  const [selectingAll, setSelectingAll] = useState(false);
  const filtered = Object.keys(filter).length > 0;

  const selectAllMatching = async () => {
    setSelectingAll(true);
    try {
      selection.addIds(await queryClient.fetchQuery(trpc.fleet.hostIds.queryOptions({ filter })));
    } catch (error) {
      notifications.show({
        color: 'red',
        title: 'Could not select the matching hosts',
        message: errorMessage(error),
      });
    } finally {
      setSelectingAll(false);
    }
  };

  const clearFilters = () => {
    setSearch('');
    update({ q: null, online: null, group: null, arch: null, drifted: null, attention: null });
  };

  if (summary.data?.total === 0) {
    return (
      <Stack gap="lg">
        <PageHeader
          title="Fleet"
          description="Every host, its QEMU registrations and how they compare with the policy."
        />
        <FirstHost />
      </Stack>
    );
  }

  return (
    <Stack gap="lg" pb={selection.count > 0 ? 80 : 0}>
      <PageHeader
        title="Fleet"
        description="Every host, its QEMU registrations and how they compare with the policy."
        actions={isAdmin ? <AddHostButton variant="light" /> : undefined}
      />
      <SummaryCards
        onOnlineFilter={(v) => update({ online: v === null ? null : v ? 'yes' : 'no' })}
        onDriftedFilter={() => update({ drifted: 'yes' })}
        onAttentionFilter={() => update({ attention: 'yes' })}
      />
      <CoverageAndGroups />
      <Card padding={0}>
        <Stack gap="sm" p="md" pb="xs">
          <Group justify="space-between" wrap="wrap" gap="sm">
            <Group gap="sm" wrap="wrap">
              <TextInput
                aria-label="Search hosts"
                placeholder="Search hostname"
                leftSection={<IconSearch size={16} />}
                value={search}
                onChange={(e) => setSearch(e.currentTarget.value)}
                w={200}
              />
              <SegmentedControl
                value={online ?? 'all'}
                onChange={(v) => update({ online: v === 'all' ? null : v })}
                data={[
                  { value: 'all', label: 'All' },
                  { value: 'yes', label: 'Online' },
                  { value: 'no', label: 'Offline' },
                ]}
              />
              <Select
                aria-label="Group"
                placeholder="Any group"
                clearable
                w={150}
                value={filter.group ?? null}
                onChange={(v) => update({ group: v })}
                data={(summary.data?.groups ?? []).map((g) => ({
                  value: g.name,
                  label: `${g.name} (${g.hosts})`,
                }))}
              />
              <Select
                aria-label="Host architecture"
                placeholder="Any host arch"
                clearable
                w={150}
                value={filter.arch ?? null}
                onChange={(v) => update({ arch: v })}
                data={(summary.data?.archs ?? []).map((a) => ({
                  value: a.arch,
                  label: `${a.arch} (${a.hosts})`,
                }))}
              />
              <Chip
                checked={filter.drifted === true}
                onChange={(checked) => update({ drifted: checked ? 'yes' : null })}
                color="orange"
                variant="outline"
              >
                Drifted only
              </Chip>
              <Chip
                checked={filter.attention === true}
                onChange={(checked) => update({ attention: checked ? 'yes' : null })}
                color="red"
                variant="outline"
              >
                Needs attention
              </Chip>
              {filtered && (
                <Button
                  variant="subtle"
                  color="gray"
                  size="compact-sm"
                  leftSection={<IconFilterOff size={16} />}
                  onClick={clearFilters}
                >
                  Clear
                </Button>
              )}
            </Group>
            <SegmentedControl
              value={view}
              onChange={(v) => update({ view: v === 'table' ? null : v, page: String(page) })}
              data={[
                { value: 'table', label: <ViewLabel icon={<IconList size={16} />} text="Hosts" /> },
                { value: 'matrix', label: <ViewLabel icon={<IconLayoutGrid size={16} />} text="Matrix" /> },
              ]}
            />
          </Group>
          <Group justify="space-between" gap="sm" mih={28}>
            <Text size="sm" c="dimmed">
              {hosts.data
                ? `${total.toLocaleString()} host${total === 1 ? '' : 's'}${filtered ? ' match' : ''}`
                : 'Loading hosts…'}
            </Text>
            {view === 'matrix' && <MatrixLegend />}
          </Group>
          {canAct && selection.page.allOnPage && total > rows.length && selection.count < total && (
            <Alert variant="light" color="indigo" py={8}>
              <Group gap="xs">
                <Text size="sm">
                  {selection.count === rows.length
                    ? `All ${rows.length} hosts on this page are selected.`
                    : `${selection.count.toLocaleString()} hosts are selected.`}
                </Text>
                <Anchor
                  component="button"
                  size="sm"
                  fw={600}
                  onClick={selectAllMatching}
                  disabled={selectingAll}
                >
                  {selectingAll ? 'Selecting…' : `Select all ${total.toLocaleString()} matching hosts`}
                </Anchor>
              </Group>
            </Alert>
          )}
        </Stack>
        {hosts.isError ? (
          <Stack p="md">
            <ErrorState
              title="Could not load hosts"
              error={hosts.error}
              onRetry={() => void hosts.refetch()}
            />
          </Stack>
        ) : hosts.isPending ? (
          <TableSkeleton rows={10} columns={8} />
        ) : rows.length === 0 ? (
          filtered ? (
            <Empty
              icon={<IconFilterOff size={22} />}
              title="No host matches these filters"
              description={`${filterWords(filter)}: change them, or clear them to see every host.`}
            >
              <Button variant="default" onClick={clearFilters}>
                Clear the filters
              </Button>
            </Empty>
          ) : (
            <Empty
              icon={<IconServerOff size={22} />}
              title="No host has joined yet"
              description="Add a host (the button above) and run its install line on it, as root."
            />
          )
        ) : (
          <div style={{ opacity: hosts.isPlaceholderData ? 0.6 : 1, transition: 'opacity 120ms' }}>
            {view === 'matrix' ? (
              <FleetMatrix rows={rows} selection={canAct ? selection.page : null} />
            ) : (
              <HostTable
                rows={rows}
                selection={canAct ? selection.page : null}
                servedAgentVersion={summary.data?.servedAgentVersion}
              />
            )}
          </div>
        )}
        {hosts.data && total > 0 && (
          <Group
            justify="space-between"
            p="md"
            pt="sm"
            style={{ borderTop: '1px solid var(--mantine-color-default-border)' }}
          >
            <Text size="sm" c="dimmed">
              {`${((page - 1) * size + 1).toLocaleString()}–${Math.min(page * size, total).toLocaleString()} of ${total.toLocaleString()}`}
            </Text>
            <Group gap="md" wrap="wrap">
              <Pagination
                size="sm"
                total={pages}
                value={Math.min(page, pages)}
                onChange={(p) => update({ page: String(p) })}
              />
              <Select
                aria-label="Hosts per page"
                size="xs"
                w={110}
                value={String(size)}
                onChange={(v) => update({ size: v === '50' ? null : v })}
                data={PAGE_SIZES.map((s) => ({ value: s, label: `${s} / page` }))}
                allowDeselect={false}
              />
            </Group>
          </Group>
        )}
      </Card>
      {canAct && (
        <ActionBar
          opened={selection.count > 0}
          onClose={selection.clear}
          shadow="lg"
          aria-label="Actions on the selected hosts"
        >
          <Text size="sm" fw={600} px="xs" style={{ whiteSpace: 'nowrap' }}>
            {selection.count.toLocaleString()} host{selection.count === 1 ? '' : 's'} selected
          </Text>
          <ActionBar.Divider />
          <JobActionButtons selection={{ hostIds: selection.hostIds, names: selection.names }} size="xs" />
          <ActionBar.Divider />
          <ActionBar.CloseButton aria-label="Clear the selection" />
        </ActionBar>
      )}
    </Stack>
  );
}

/** The active filters in words: "Hostname contains “x”, offline, group ci, drifted only". */
function filterWords(filter: HostFilter): string {
  const words = [
    filter.search && `hostname contains “${filter.search}”`,
    filter.online !== undefined && (filter.online ? 'online' : 'offline'),
    filter.group && `group ${filter.group}`,
    filter.arch && `host arch ${filter.arch}`,
    filter.drifted && 'drifted only',
    filter.attention && 'needs attention',
  ].filter(Boolean);
  const text = words.join(', ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function ViewLabel({ icon, text }: { icon: React.ReactNode; text: string }) {
  return (
    <Group gap={6} wrap="nowrap">
      {icon}
      <span>{text}</span>
    </Group>
  );
}
