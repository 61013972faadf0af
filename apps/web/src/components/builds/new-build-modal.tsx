'use client';
import type { TargetId } from '@binfleet/arch-table';
import { Alert, Button, Group, Modal, Select, Stack, Switch, TextInput } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { TargetPicker } from '../actions/target-picker.tsx';
import { errorMessage, useTRPC } from '../trpc/client.ts';

/** Admins: a build of every tag of the scheme from a QEMU package on a builder host. */
export function NewBuildModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const builders = useQuery(trpc.builds.builders.queryOptions(undefined, { enabled: opened }));
  const registries = useQuery(trpc.registries.list.queryOptions(undefined, { enabled: opened }));
  const [hostId, setHostId] = useState<string | null>(null);
  const [repositoryId, setRepositoryId] = useState<string | null>(null);
  const [packagePath, setPackagePath] = useState('');
  const [targets, setTargets] = useState<TargetId[]>([]);
  const [testImage, setTestImage] = useState('');
  const [skipChecks, setSkipChecks] = useState(false);
  const start = useMutation(
    trpc.builds.start.mutationOptions({
      onSuccess: ({ id }) => {
        void queryClient.invalidateQueries({ queryKey: trpc.builds.pathKey() });
        onClose();
        router.push(`/builds/${id}`);
      },
    }),
  );
  const repositories =
    registries.data?.flatMap((r) =>
      r.repositories.map((repo) => ({ value: repo.id, label: `${r.host}/${repo.name}` })),
    ) ?? [];
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!hostId || !repositoryId) return;
    start.mutate({
      hostId,
      repositoryId,
      packagePath: packagePath.trim(),
      ...(targets.length ? { targets } : {}),
      ...(testImage.trim() ? { testImage: testImage.trim() } : {}),
      ...(skipChecks ? { skipChecks } : {}),
    });
  };
  return (
    <Modal opened={opened} onClose={onClose} title="New build" size="lg">
      <form onSubmit={submit}>
        <Stack>
          <Select
            label="Builder host"
            description="an agent with dockerd; it builds, tests and pushes"
            placeholder={builders.isPending ? 'Loading…' : 'Pick a host'}
            data={(builders.data ?? []).map((h) => ({
              value: h.id,
              label: `${h.hostname} (${h.arch ?? '?'}, docker ${h.dockerVersion})${h.online ? '' : ' · offline'}`,
              disabled: !h.online,
            }))}
            value={hostId}
            onChange={setHostId}
            nothingFoundMessage="No host with dockerd has joined"
            required
            data-testid="build-host"
          />
          <TextInput
            label="QEMU package"
            description="path of the .deb on the builder host, e.g. from apt-get download qemu-user-static"
            placeholder="/var/cache/binfleet/qemu-user-static_7.2+dfsg-7_amd64.deb"
            value={packagePath}
            onChange={(e) => setPackagePath(e.currentTarget.value)}
            required
            data-testid="build-package"
          />
          <Select
            label="Push to"
            placeholder="Pick a repository"
            data={repositories}
            value={repositoryId}
            onChange={setRepositoryId}
            nothingFoundMessage="Add a registry and repository on the Catalogue page first"
            required
            data-testid="build-repository"
          />
          <TargetPicker
            label="Emulators"
            description="leave empty for every emulator in the package"
            placeholder="all"
            value={targets}
            onChange={setTargets}
          />
          <TextInput
            label="Test image"
            description="a foreign image on the builder for the container checks (default: the agent's --verify-image)"
            placeholder="arm64v8/busybox"
            value={testImage}
            onChange={(e) => setTestImage(e.currentTarget.value)}
          />
          <Switch
            label="Skip the seed's checks (only for a package this builder cannot run)"
            checked={skipChecks}
            onChange={(e) => setSkipChecks(e.currentTarget.checked)}
          />
          {start.isError && (
            <Alert color="red" variant="light" icon={<IconAlertTriangle size={16} />}>
              {errorMessage(start.error)}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button
              type="submit"
              loading={start.isPending}
              disabled={!hostId || !repositoryId || !packagePath.trim()}
            >
              Start build
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
