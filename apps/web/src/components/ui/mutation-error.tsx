'use client';
import { Alert } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { errorMessage } from '../trpc/client.ts';

/** What the server refused, in its words (they say what to do); nothing while there is no error. */
export function MutationError({ error, title, testId }: { error: unknown; title?: string; testId?: string }) {
  if (error === null || error === undefined) return null;
  return (
    <Alert
      color="red"
      variant="light"
      icon={<IconAlertTriangle size={18} />}
      title={title}
      data-testid={testId}
    >
      {errorMessage(error)}
    </Alert>
  );
}
