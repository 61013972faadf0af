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
  const removeRegistry = useMutation(
    trpc.registries.remove.mutationOptions({
      onSuccess: refresh,
      onError: onError('Could not remove the registry'),
    }),
  );
  const removeRepository = useMutation(
    trpc.registries.removeRepository.mutationOptions({
      onSuccess: refresh,
      onError: onError('Could not remove the repository'),
    }),
  );
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
                  onClick={() => removeRegistry.mutate({ id: r.id })}
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
                    onClick={() => removeRepository.mutate({ id: repo.id })}
                  >
                    <IconTrash size={14} />
                  </ActionIcon>
                </Group>
              ))}
              <AddRepository registryId={r.id} onAdded={refresh} />
            </Stack>
          </Card>
        ))}
        <Divider label="Add a registry" labelPosition="left" />
        <AddRegistry onAdded={refresh} />
      </Stack>
    </Modal>
  );
}

function AddRepository({ registryId, onAdded }: { registryId: string; onAdded: () => void }) {
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
          aria-label="Repository name"
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
