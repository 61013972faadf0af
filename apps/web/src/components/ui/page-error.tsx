'use client';
import { Stack, Title } from '@mantine/core';
import type { ReactNode } from 'react';
import { ErrorState } from './states.tsx';

/** A page whose subject did not load: the page's h1 says so, the alert says why and offers a retry. */
export function PageError({
  crumbs,
  title,
  error,
  onRetry,
}: {
  crumbs: ReactNode;
  title: string;
  error: unknown;
  onRetry?: () => void;
}) {
  return (
    <Stack>
      {crumbs}
      <Title order={1} fz={24}>
        {title}
      </Title>
      <ErrorState title="What happened" error={error} onRetry={onRetry} />
    </Stack>
  );
}
