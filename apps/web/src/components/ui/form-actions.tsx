'use client';
import { Alert, Button, Group } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { errorMessage } from '../trpc/client.ts';

/** The end of a modal form: what the server refused, if it did, then Cancel and the submit button. */
export function FormActions({
  mutation,
  submitLabel,
  onCancel,
  loading = mutation.isPending,
  disabled,
}: {
  mutation: { isError: boolean; isPending: boolean; error: unknown };
  submitLabel: string;
  onCancel: () => void;
  loading?: boolean;
  disabled?: boolean;
}) {
  return (
    <>
      {mutation.isError && (
        <Alert color="red" variant="light" icon={<IconAlertTriangle size={18} />}>
          {errorMessage(mutation.error)}
        </Alert>
      )}
      <Group justify="flex-end">
        <Button variant="default" onClick={onCancel}>
          Cancel
        </Button>
        <Button type="submit" loading={loading} disabled={disabled}>
          {submitLabel}
        </Button>
      </Group>
    </>
  );
}
