'use client';
import { Button, Stack, Text } from '@mantine/core';
import { IconHammer, IconPackage, IconPlus } from '@tabler/icons-react';
import { useState } from 'react';
import { useCan } from '../auth/session.tsx';
import { PageHeader } from '../shell/page-header.tsx';
import { useTRPC, useTRPCClient } from '../trpc/client.ts';
import { RunList, useRunList } from '../ui/run-list.tsx';
import { Ago, formatDuration } from '../ui/time.tsx';
import { hostsLabel } from './hosts-label.ts';
import { NewBuildModal } from './new-build-modal.tsx';
import { PackagesModal } from './packages-modal.tsx';

export function BuildsScreen() {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const isAdmin = useCan('admin');
  const [creating, setCreating] = useState(false);
  const [managingPackages, setManagingPackages] = useState(false);
  const builds = useRunList(
    (input) => trpc.builds.list.queryKey(input),
    (input) => client.builds.list.query(input),
  );
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
      <RunList
        list={builds}
        noun="build"
        minWidth={960}
        link={{
          header: 'Package',
          href: (b) => `/builds/${b.id}`,
          label: (b) => `${b.packageName}${b.packageVersion ? ` ${b.packageVersion}` : ''}`,
          detail: (b) =>
            b.qemuVersion
              ? `QEMU ${b.qemuVersion} · for ${hostsLabel(b.hostArchs)}`
              : b.packages.length > 1
                ? `${b.packages.length} packages`
                : b.packagePath,
        }}
        columns={[
          { header: 'Builder', cell: (b) => <Text size="sm">{b.builder?.hostname ?? '—'}</Text> },
          {
            header: 'Repository',
            cell: (b) => (
              <Text size="sm" ff="monospace">
                {b.repository?.reference ?? '—'}
              </Text>
            ),
          },
          { header: 'By', cell: (b) => <Text size="sm">{b.triggeredBy ?? '—'}</Text> },
          {
            header: 'Started',
            noWrap: true,
            cell: (b) => <Ago date={b.startedAt ?? b.createdAt} size="sm" />,
          },
          {
            header: 'Took',
            align: 'right',
            noWrap: true,
            cell: (b) => (
              <Text size="sm" c="dimmed">
                {b.finishedAt
                  ? formatDuration(b.finishedAt.getTime() - (b.startedAt ?? b.createdAt).getTime())
                  : '—'}
              </Text>
            ),
          },
        ]}
        empty={{
          icon: <IconHammer size={22} />,
          title: 'No build yet',
          description:
            'Start one from a qemu-user-static .deb on a builder host: its images appear in the catalogue once pushed.',
          ...(isAdmin ? { action: <Button onClick={() => setCreating(true)}>New build</Button> } : {}),
        }}
      />
      <NewBuildModal opened={creating} onClose={() => setCreating(false)} />
      <PackagesModal opened={managingPackages} onClose={() => setManagingPackages(false)} />
    </Stack>
  );
}
