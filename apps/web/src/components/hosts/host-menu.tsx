'use client';
import { ActionIcon, Code, Menu, Stack, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconDots, IconKey, IconTrash } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useTRPC } from '../trpc/client.ts';
import type { HostDetail } from '../trpc/types.ts';
import { ConfirmModal } from '../ui/confirm-modal.tsx';

/** Admins: what else can be done with the host (rotating its credential, removing it), after asking. */
export function HostMenu({ host }: { host: HostDetail }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [confirm, setConfirm] = useState<'remove' | 'rotate' | null>(null);
  const rotate = useMutation(
    trpc.fleet.rotateCredential.mutationOptions({
      onSuccess: async () => {
        setConfirm(null);
        notifications.show({
          color: 'teal',
          message: `${host.hostname} gets a new credential with its next heartbeat.`,
        });
        await queryClient.invalidateQueries({ queryKey: trpc.fleet.host.queryKey({ id: host.id }) });
      },
    }),
  );
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
          <Menu.Item leftSection={<IconKey size={16} />} onClick={() => setConfirm('rotate')}>
            Rotate credential…
          </Menu.Item>
          <Menu.Item color="red" leftSection={<IconTrash size={16} />} onClick={() => setConfirm('remove')}>
            Remove from fleet…
          </Menu.Item>
        </Menu.Dropdown>
      </Menu>
      <ConfirmModal
        opened={confirm === 'rotate'}
        onClose={() => setConfirm(null)}
        title={`Rotate ${host.hostname}'s credential?`}
        error={rotate.error}
        confirmLabel="Rotate credential"
        loading={rotate.isPending}
        onConfirm={() => rotate.mutate({ id: host.id })}
      >
        A new credential for this host&apos;s agent (the token binfleet calls it with, and the one its
        heartbeats carry) goes to the agent with the answer to its next heartbeat; the agent keeps it in its
        state directory and uses it from then on. Until the agent has used it once, the old credential stays
        valid, so jobs in progress are not cut off; from then on the old one is refused (and a heartbeat with
        it audited). An agent that is offline takes it when it comes back.
      </ConfirmModal>
      <ConfirmModal
        opened={confirm === 'remove'}
        onClose={() => setConfirm(null)}
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
