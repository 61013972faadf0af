'use client';
import { ActionIcon, Badge, Button, Group, Modal, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPencil } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { errorMessage, useTRPC } from '../trpc/client.ts';
import type { HostDetail } from '../trpc/types.ts';

/** The host's group, and for operators a pencil that moves it to another group or out of any. */
export function GroupValue({ host, canEdit }: { host: HostDetail; canEdit: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(host.group ?? '');
  const setGroup = useMutation(
    trpc.fleet.setGroup.mutationOptions({
      onSuccess: async () => {
        setEditing(false);
        notifications.show({
          color: 'teal',
          message: value ? `${host.hostname} is now in group ${value}.` : `${host.hostname} left its group.`,
        });
        await queryClient.invalidateQueries({ queryKey: trpc.fleet.pathKey() });
      },
    }),
  );
  return (
    <>
      <Group gap={6}>
        {host.group ? (
          <Badge variant="default">{host.group}</Badge>
        ) : (
          <Text size="sm" c="dimmed">
            no group (fleet policy applies)
          </Text>
        )}
        {canEdit && (
          <ActionIcon
            size="sm"
            variant="subtle"
            color="gray"
            aria-label="Change group"
            onClick={() => setEditing(true)}
          >
            <IconPencil size={14} />
          </ActionIcon>
        )}
      </Group>
      <Modal opened={editing} onClose={() => setEditing(false)} title="Change group" centered>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setGroup.mutate({ hostIds: [host.id], group: value.trim() || null });
          }}
        >
          <Stack>
            <TextInput
              label="Group"
              description="The group's policy applies to the host; empty: the fleet policy."
              placeholder="e.g. ci-x86"
              value={value}
              onChange={(e) => setValue(e.currentTarget.value)}
              error={setGroup.isError ? errorMessage(setGroup.error) : undefined}
              data-autofocus
            />
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setEditing(false)}>
                Cancel
              </Button>
              <Button type="submit" loading={setGroup.isPending}>
                Save
              </Button>
            </Group>
          </Stack>
        </form>
      </Modal>
    </>
  );
}
