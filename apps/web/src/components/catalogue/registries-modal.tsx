'use client';
import {
  ActionIcon,
  Button,
  Card,
  Divider,
  Group,
  Modal,
  PasswordInput,
  Stack,
  Text,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlus, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { errorMessage, useTRPC } from '../trpc/client.ts';
import { ConfirmModal } from '../ui/confirm-modal.tsx';
import { MutationError } from '../ui/mutation-error.tsx';
import { Ago } from '../ui/time.tsx';

/** Admins: the registries the catalogue reads and builds push to, and their repositories. */
export function RegistriesModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const registries = useQuery(trpc.registries.list.queryOptions());
  const refresh = () => void queryClient.invalidateQueries({ queryKey: trpc.registries.list.queryKey() });
  const onError = (title: string) => (error: unknown) =>
    notifications.show({ color: 'red', title, message: errorMessage(error) });
  // Removals ask first, naming what goes: one click on a trash icon never removes anything.
  const [removing, setRemoving] = useState<Removal | null>(null);
  const done = () => {
    setRemoving(null);
    refresh();
  };
  const removeRegistry = useMutation(trpc.registries.remove.mutationOptions({ onSuccess: done }));
  const removeRepository = useMutation(
    trpc.registries.removeRepository.mutationOptions({
      onSuccess: done,
      onError: onError('Could not remove the repository'),
    }),
  );
  const removal = removing?.kind === 'registry' ? removeRegistry : removeRepository;
  return (
    <Modal opened={opened} onClose={onClose} title="Registries and repositories" size="lg">
      <Stack>
        {registries.data?.map((r) => (
          <Card key={r.id} withBorder>
            <Group justify="space-between" mb="xs">
              <div>
                <Text fw={600} ff="monospace">
                  {r.url}
                </Text>
                <Text size="xs" c="dimmed">
                  {r.username ? `user ${r.username}${r.hasPassword ? ' · password set' : ''}` : 'anonymous'} ·{' '}
                  <Ago date={r.lastSyncedAt} prefix="synced" never="never synced" size="xs" />
                </Text>
              </div>
              <Tooltip label="Remove the registry and its catalogue">
                <ActionIcon
                  variant="subtle"
                  color="red"
                  aria-label={`Remove ${r.url}`}
                  onClick={() =>
                    setRemoving({
                      kind: 'registry',
                      id: r.id,
                      name: r.url,
                      repositories: r.repositories.length,
                      tags: r.repositories.reduce((n, repo) => n + repo.tagCount, 0),
                    })
                  }
                >
                  <IconTrash size={16} />
                </ActionIcon>
              </Tooltip>
            </Group>
            <Stack gap={4}>
              {r.repositories.map((repo) => (
                <Group key={repo.id} justify="space-between">
                  <Text size="sm" ff="monospace">
                    {repo.name}{' '}
                    <Text span size="xs" c="dimmed">
                      {repo.tagCount} tags
                    </Text>
                  </Text>
                  <ActionIcon
                    variant="subtle"
                    color="gray"
                    aria-label={`Remove ${repo.name}`}
                    onClick={() =>
                      setRemoving({
                        kind: 'repository',
                        id: repo.id,
                        name: repo.name,
                        repositories: 1,
                        tags: repo.tagCount,
                      })
                    }
                  >
                    <IconTrash size={14} />
                  </ActionIcon>
                </Group>
              ))}
              <AddRepository registryId={r.id} registryUrl={r.url} onAdded={refresh} />
            </Stack>
          </Card>
        ))}
        <Divider label="Add a registry" labelPosition="left" />
        <AddRegistry onAdded={refresh} />
      </Stack>
      <ConfirmModal
        opened={removing !== null}
        onClose={() => {
          setRemoving(null);
          removal.reset();
        }}
        title={removing?.kind === 'registry' ? 'Remove this registry?' : 'Remove this repository?'}
        error={removal.error}
        confirmLabel={removing?.kind === 'registry' ? 'Remove the registry' : 'Remove the repository'}
        confirmColor="red"
        loading={removal.isPending}
        onConfirm={() => removing && removal.mutate({ id: removing.id })}
      >
        {removing && describeRemoval(removing)}
      </ConfirmModal>
    </Modal>
  );
}

interface Removal {
  readonly kind: 'registry' | 'repository';
  readonly id: string;
  readonly name: string;
  readonly repositories: number;
  readonly tags: number;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

/** What goes: the catalogue's rows; the images stay in the registry, builds keep their record. */
function describeRemoval(r: Removal): string {
  const tags = plural(r.tags, 'tag');
  const what =
    r.kind === 'registry'
      ? `${r.name} and its ${plural(r.repositories, 'repository', 'repositories')}: removes ${tags} from the catalogue`
      : `${r.name}: removes ${tags} from the catalogue`;
  return `${what}. The images stay in the registry; builds that pushed them keep their record.`;
}

function AddRepository({
  registryId,
  registryUrl,
  onAdded,
}: {
  registryId: string;
  registryUrl: string;
  onAdded: () => void;
}) {
  const trpc = useTRPC();
  const [name, setName] = useState('');
  const add = useMutation(
    trpc.registries.addRepository.mutationOptions({
      onSuccess: () => {
        setName('');
        onAdded();
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate({ registryId, name: name.trim() });
  };
  return (
    <form onSubmit={submit}>
      <Group gap="xs" align="flex-start" mt={4}>
        <TextInput
          size="xs"
          placeholder="repository, e.g. multiarch/qemu-user-static"
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          error={add.error ? errorMessage(add.error) : undefined}
          style={{ flex: 1 }}
          aria-label={`Repository name for ${registryUrl}`}
        />
        <Button
          size="xs"
          variant="light"
          type="submit"
          leftSection={<IconPlus size={14} />}
          loading={add.isPending}
          disabled={!name.trim()}
        >
          Add repository
        </Button>
      </Group>
    </form>
  );
}

function AddRegistry({ onAdded }: { onAdded: () => void }) {
  const trpc = useTRPC();
  const [url, setUrl] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const add = useMutation(
    trpc.registries.create.mutationOptions({
      onSuccess: () => {
        setUrl('');
        setUsername('');
        setPassword('');
        onAdded();
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate({ url: url.trim(), username: username.trim() || null, password: password || null });
  };
  return (
    <form onSubmit={submit}>
      <Stack gap="xs">
        <TextInput
          label="Address"
          description="http(s)://host[:port]; a bare host means https"
          placeholder="http://127.0.0.1:5000"
          value={url}
          onChange={(e) => setUrl(e.currentTarget.value)}
          required
        />
        <Group grow>
          <TextInput
            label="Username"
            description="optional, for basic auth"
            value={username}
            onChange={(e) => setUsername(e.currentTarget.value)}
          />
          <PasswordInput
            label="Password"
            description="kept sealed on the server"
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
          />
        </Group>
        <MutationError error={add.error} />
        <Group justify="flex-end">
          <Button type="submit" loading={add.isPending} disabled={!url.trim()}>
            Add registry
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
