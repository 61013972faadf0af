'use client';
import type { RunStatus } from '@binfleet/db';
import { Anchor, Button, Card, Group, SegmentedControl, Stack, Table, Text } from '@mantine/core';
import { IconHammer, IconPackage, IconPlus } from '@tabler/icons-react';
import Link from 'next/link';
import { useState } from 'react';
import { useCan } from '../auth/session.tsx';
import { PageHeader } from '../shell/page-header.tsx';
import { useTRPC, useTRPCClient } from '../trpc/client.ts';
import { useCursorPages } from '../trpc/cursor-pages.ts';
import { RunStatusBadge } from '../ui/badges.tsx';
import { Empty, ErrorState, TableSkeleton } from '../ui/states.tsx';
import { Ago, formatDuration } from '../ui/time.tsx';
import { NewBuildModal } from './new-build-modal.tsx';
import { PackagesModal } from './packages-modal.tsx';

const FILTERS = ['all', 'running', 'queued', 'failed', 'succeeded', 'cancelled'] as const;

export function BuildsScreen() {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const isAdmin = useCan('admin');
  const [status, setStatus] = useState<(typeof FILTERS)[number]>('all');
  const [creating, setCreating] = useState(false);
  const [managingPackages, setManagingPackages] = useState(false);
  const input = { ...(status === 'all' ? {} : { status: status as RunStatus }), limit: 25 };
  const builds = useCursorPages(
    trpc.builds.list.queryKey(input),
    (cursor) => client.builds.list.query({ ...input, ...(cursor ? { cursor } : {}) }),
    (data) =>
      data?.pages.some((p) => p.items.some((b) => b.status === 'running' || b.status === 'queued'))
        ? 2_000
        : 15_000,
  );
  const items = builds.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Stack gap="lg">
      <PageHeader
        title="Builds"
        description="Emulator images built from a QEMU package on a builder host, tested the seed's way, pushed, with every step recorded."
        actions={
          isAdmin && (
            <>
              <Button
                variant="default"
                leftSection={<IconPackage size={16} />}
                onClick={() => setManagingPackages(true)}
              >
                Uploaded packages
              </Button>
              <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
                New build
              </Button>
            </>
          )
        }
      />
      <Card padding={0}>
        <Group p="md" pb="sm">
          <SegmentedControl
            value={status}
            onChange={(v) => setStatus(v as typeof status)}
            data={FILTERS.map((f) => ({ value: f, label: f[0]!.toUpperCase() + f.slice(1) }))}
          />
        </Group>
        {builds.isPending ? (
          <TableSkeleton rows={6} columns={6} />
        ) : builds.isError ? (
          <Stack p="md">
            <ErrorState
              title="Could not load builds"
              error={builds.error}
              onRetry={() => void builds.refetch()}
            />
          </Stack>
        ) : items.length === 0 ? (
          <Empty
            icon={<IconHammer size={22} />}
            title={status === 'all' ? 'No build yet' : `No ${status} build`}
            description={
              status === 'all'
                ? 'Start one from a qemu-user-static .deb on a builder host: its images appear in the catalogue once pushed.'
                : 'Pick another status.'
            }
          >
            {isAdmin && status === 'all' && <Button onClick={() => setCreating(true)}>New build</Button>}
          </Empty>
        ) : (
          <Table.ScrollContainer minWidth={960}>
            <Table verticalSpacing={10} highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Package</Table.Th>
                  <Table.Th w={120}>Status</Table.Th>
                  <Table.Th>Builder</Table.Th>
                  <Table.Th>Repository</Table.Th>
                  <Table.Th>By</Table.Th>
                  <Table.Th>Started</Table.Th>
                  <Table.Th ta="right">Took</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((b) => (
                  <Table.Tr key={b.id}>
                    <Table.Td>
                      <Anchor component={Link} href={`/builds/${b.id}`} fw={600} size="sm">
                        {b.packageName}
                        {b.packageVersion && ` ${b.packageVersion}`}
                      </Anchor>
                      <Text size="xs" c="dimmed">
                        {b.qemuVersion ? `QEMU ${b.qemuVersion} · ${b.packageArch}` : b.packagePath}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <RunStatusBadge status={b.status} />
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{b.builder?.hostname ?? '—'}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" ff="monospace">
                        {b.repository?.reference ?? '—'}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{b.triggeredBy ?? '—'}</Text>
                    </Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>
                      <Ago date={b.startedAt ?? b.createdAt} size="sm" />
                    </Table.Td>
                    <Table.Td ta="right" style={{ whiteSpace: 'nowrap' }}>
                      <Text size="sm" c="dimmed">
                        {b.finishedAt
                          ? formatDuration(b.finishedAt.getTime() - (b.startedAt ?? b.createdAt).getTime())
                          : '—'}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        {builds.hasNextPage && (
          <Group justify="center" p="md">
            <Button
              variant="default"
              onClick={() => void builds.fetchNextPage()}
              loading={builds.isFetchingNextPage}
            >
              Load older builds
            </Button>
          </Group>
        )}
      </Card>
      <NewBuildModal opened={creating} onClose={() => setCreating(false)} />
      <PackagesModal opened={managingPackages} onClose={() => setManagingPackages(false)} />
    </Stack>
  );
}
