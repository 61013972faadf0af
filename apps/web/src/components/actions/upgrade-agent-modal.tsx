'use client';
import { Stack, Text } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useTRPC } from '../trpc/client.ts';
import { ConfirmModal } from '../ui/confirm-modal.tsx';
import { selectionLabel, useJobQueued, type HostSelection } from './job-action-modal.tsx';

/** Admins: the upgrade agent job on one host or a selection, after saying what it does. */
export function UpgradeAgentModal({ selection, onClose }: { selection: HostSelection; onClose: () => void }) {
  const trpc = useTRPC();
  const count = selection.hostIds.length;
  const target = selectionLabel(selection);
  const queued = useJobQueued(onClose);
  const upgrade = useMutation(
    trpc.jobs.upgradeAgent.mutationOptions({ onSuccess: (job) => queued(job, 'Upgrade the agent') }),
  );
  return (
    <ConfirmModal
      opened
      onClose={onClose}
      title={`Upgrade the agent on ${target}?`}
      error={upgrade.error}
      confirmLabel="Upgrade agent"
      loading={upgrade.isPending}
      onConfirm={() => upgrade.mutate({ selection: { hostIds: [...selection.hostIds] } })}
    >
      <Stack gap="xs" component="span">
        <Text size="sm" component="span">
          {count === 1 ? 'The agent' : 'Each agent'} downloads the agent release this control plane serves
          (from the address it joined), checks its sha256, installs it beside the running version and restarts
          on it; the host&apos;s row succeeds once a heartbeat reports the new version. Its binfmt_misc
          entries are not touched.
        </Text>
        <Text size="sm" component="span">
          When the download does not match its sha256 or cannot be installed, the agent keeps running the
          version it has and the row says why. Agents already on that version are left as they are. Only
          agents installed with the install line (the tarball) upgrade this way; others say how to upgrade
          them.
        </Text>
      </Stack>
    </ConfirmModal>
  );
}
