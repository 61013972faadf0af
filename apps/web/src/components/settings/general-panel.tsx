'use client';
import { Alert, Badge, Button, Group, Stack, Text, TextInput } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { useTRPC } from '../trpc/client.ts';
import { MutationError } from '../ui/mutation-error.tsx';

const SOURCE = { settings: 'set here', environment: 'from BINFLEET_PUBLIC_URL', unset: 'not set' } as const;

/** Settings > General: the public URL hosts reach binfleet at (install lines, agents' --server). */
export function GeneralPanel() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const current = useQuery(trpc.settings.publicUrl.queryOptions());
  const [url, setUrl] = useState('');
  useEffect(() => setUrl(current.data?.url ?? ''), [current.data?.url]);
  const save = useMutation(
    trpc.settings.setPublicUrl.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.settings.publicUrl.queryKey() }),
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({ url: url.trim() || null });
  };
  return (
    <form onSubmit={submit}>
      <Stack maw={720}>
        <TextInput
          label={
            <Group gap="xs" component="span">
              Public URL
              {current.data && (
                <Badge size="xs" variant="light" color={current.data.source === 'unset' ? 'yellow' : 'gray'}>
                  {SOURCE[current.data.source]}
                </Badge>
              )}
            </Group>
          }
          description="The address hosts reach this control plane at: install lines and agents use it. Empty: BINFLEET_PUBLIC_URL, else the browser's address."
          placeholder="https://binfleet.example.com"
          value={url}
          onChange={(e) => setUrl(e.currentTarget.value)}
        />
        {current.data?.warning && (
          <Alert color="yellow" variant="light" icon={<IconAlertTriangle size={18} />}>
            {current.data.warning}
          </Alert>
        )}
        <MutationError error={save.error} />
        <Group>
          <Button type="submit" loading={save.isPending}>
            Save
          </Button>
          {save.isSuccess && (
            <Text size="sm" c="dimmed">
              Saved.
            </Text>
          )}
        </Group>
      </Stack>
    </form>
  );
}
