'use client';
import { ActionIcon, Menu } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconDots, IconTrash } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useTRPC } from '../trpc/client.ts';
import type { HostDetail } from '../trpc/types.ts';
import { ConfirmModal } from '../ui/confirm-modal.tsx';

/** Admins: what else can be done with the host (removing it from the fleet, after asking). */
export function HostMenu({ host }: { host: HostDetail }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [confirm, setConfirm] = useState(false);
  const remove = useMutation(
    trpc.fleet.removeHost.mutationOptions({
      onSuccess: async () => {
        notifications.show({ color: 'teal', message: `${host.hostname} was removed from the fleet.` });
        await queryClient.invalidateQueries({ queryKey: trpc.fleet.pathKey() });
        router.push('/fleet');
      },
    }),
  );
  return (
    <>
      <Menu position="bottom-end">
        <Menu.Target>
          <ActionIcon variant="default" size="lg" aria-label="More host actions">
            <IconDots size={18} />
          </ActionIcon>
        </Menu.Target>
        <Menu.Dropdown>
          <Menu.Item color="red" leftSection={<IconTrash size={16} />} onClick={() => setConfirm(true)}>
            Remove from fleet…
          </Menu.Item>
        </Menu.Dropdown>
      </Menu>
      <ConfirmModal
        opened={confirm}
        onClose={() => setConfirm(false)}
        title={`Remove ${host.hostname}?`}
        error={remove.error}
        confirmLabel="Remove host"
        confirmColor="red"
        loading={remove.isPending}
        onConfirm={() => remove.mutate({ id: host.id })}
      >
        The host, its snapshots and self-test results leave binfleet; its kernel entries stay as they are. An
        agent still running there joins again only with a new join token.
      </ConfirmModal>
    </>
  );
}
