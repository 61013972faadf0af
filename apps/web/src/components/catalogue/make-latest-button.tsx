'use client';
import { Button } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconArrowBackUp } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useCan } from '../auth/session.tsx';
import { useTRPC } from '../trpc/client.ts';
import { ConfirmModal } from '../ui/confirm-modal.tsx';

/** Admins: `latest` and `register` back to what an earlier build of ours pushed, after a confirmation. */
export function MakeLatestButton({
  buildId,
  version,
  reference,
}: {
  buildId: string;
  version: string;
  reference: string;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const isAdmin = useCan('admin');
  const [confirming, setConfirming] = useState(false);
  const repoint = useMutation(
    trpc.catalogue.repoint.mutationOptions({
      onSuccess: () => {
        setConfirming(false);
        void queryClient.invalidateQueries({ queryKey: trpc.catalogue.pathKey() });
        notifications.show({
          color: 'green',
          title: `latest and register are ${version} again`,
          message: reference,
        });
      },
    }),
  );
  if (!isAdmin) return null;
  return (
    <>
      <Button
        size="compact-sm"
        variant="default"
        leftSection={<IconArrowBackUp size={14} />}
        onClick={() => setConfirming(true)}
        data-testid={`make-latest-${version}`}
      >
        Make latest
      </Button>
      <ConfirmModal
        opened={confirming}
        onClose={() => setConfirming(false)}
        title={`Make ${version} latest?`}
        error={repoint.error}
        confirmLabel="Re-point latest and register"
        loading={repoint.isPending}
        onConfirm={() => repoint.mutate({ buildId })}
      >
        {reference}:latest and :register will point at the images this build pushed, copied by digest in the
        registry: hosts that pull or run them get {version} from then on. Newer versions keep their own tags,
        and a newer build moves latest again. The change is audited.
      </ConfirmModal>
    </>
  );
}
