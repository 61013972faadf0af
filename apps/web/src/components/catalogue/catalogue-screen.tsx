'use client';
import { Button, Card, Stack } from '@mantine/core';
import { IconBox, IconServerCog } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useCan } from '../auth/session.tsx';
import { PageHeader } from '../shell/page-header.tsx';
import { useTRPC } from '../trpc/client.ts';
import { Empty, ErrorState, PageSkeleton } from '../ui/states.tsx';
import { RegistriesModal } from './registries-modal.tsx';
import { RepositoryCatalogue } from './repository-catalogue.tsx';
import { repositoryOptions } from './repository-select.tsx';

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
