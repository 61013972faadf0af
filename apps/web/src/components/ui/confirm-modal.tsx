'use client';
import { Button, Group, Modal, Stack, Text, type MantineColor } from '@mantine/core';
import type { ReactNode } from 'react';
import { MutationError } from './mutation-error.tsx';

/** Asks before an action: what it does, why the server refused it if it did, a way back and the action. */
export function ConfirmModal({
  opened,
  onClose,
  title,
  children,
  error,
  cancelLabel = 'Keep it',
  cancelDisabled,
  confirmLabel,
  confirmColor,
  loading,
  onConfirm,
}: {
  opened: boolean;
  onClose: () => void;
  title: string;
  /** What the action does and what it leaves. */
  children: ReactNode;
  error: unknown;
  cancelLabel?: string;
  cancelDisabled?: boolean;
  confirmLabel: ReactNode;
  confirmColor?: MantineColor;
  loading: boolean;
  onConfirm: () => void;
}) {
  return (
    <Modal opened={opened} onClose={onClose} title={title} centered>
      <Stack>
        <Text size="sm">{children}</Text>
        <MutationError error={error} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose} disabled={cancelDisabled}>
            {cancelLabel}
          </Button>
          <Button color={confirmColor} loading={loading} onClick={onConfirm}>
            {confirmLabel}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
