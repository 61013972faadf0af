'use client';
import { Button, Group } from '@mantine/core';
import { MutationError } from './mutation-error.tsx';

/** The end of a modal form: what the server refused, if it did, then Cancel and the submit button. */
export function FormActions({
  mutation,
  submitLabel,
  onCancel,
  loading = mutation.isPending,
  disabled,
}: {
  mutation: { isPending: boolean; error: unknown };
  submitLabel: string;
  onCancel: () => void;
  loading?: boolean;
  disabled?: boolean;
}) {
  return (
    <>
      <MutationError error={mutation.error} />
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
