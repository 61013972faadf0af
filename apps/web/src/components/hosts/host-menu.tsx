'use client';
import { ActionIcon, Code, Menu, Stack, Text } from '@mantine/core';
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
        <Stack gap="xs">
          <Text size="sm">
            The host, its snapshots and self-test results leave binfleet; its kernel entries stay as they are.
            Its agent&apos;s credentials are revoked at once: its next heartbeat is refused (and audited), and
            it joins again only with a new join token.
          </Text>
          <Text size="sm">
            {host.reach.reachable
              ? 'Its agent is reachable now. To remove the agent as well, run on the host:'
              : 'To remove the agent as well, run on the host (the install script put it beside the agent):'}
          </Text>
          <Code block>sudo binfleet-agent-uninstall</Code>
        </Stack>
      </ConfirmModal>
    </>
  );
}
