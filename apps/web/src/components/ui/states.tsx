'use client';
import { Alert, Button, Card, EmptyState, Group, Skeleton, Stack, Table } from '@mantine/core';
import { IconAlertTriangle, IconRefresh } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { errorMessage } from '../trpc/client.ts';

/** A failed load or action: the server's message says what to do; retry when it may help. */
export function ErrorState({
  error,
  title = 'Could not load this',
  onRetry,
}: {
  error: unknown;
  title?: string;
  onRetry?: () => void;
}) {
  return (
    <Alert color="red" variant="light" icon={<IconAlertTriangle size={18} />} title={title}>
      <Stack gap="xs" align="flex-start">
        <span>{errorMessage(error)}</span>
        {onRetry && (
          <Button
            size="xs"
            variant="white"
            color="red"
            leftSection={<IconRefresh size={14} />}
            onClick={onRetry}
          >
            Try again
          </Button>
        )}
      </Stack>
    </Alert>
  );
}

export function Empty({
  icon,
  title,
  description,
  children,
}: {
  icon: ReactNode;
  title: string;
  description?: ReactNode;
  children?: ReactNode;
}) {
  return (
    <EmptyState py="xl" icon={icon} title={title} description={description} withIndicatorBackground>
      {children && <EmptyState.Actions>{children}</EmptyState.Actions>}
    </EmptyState>
  );
}

export function TableSkeleton({ rows = 8, columns = 6 }: { rows?: number; columns?: number }) {
  return (
    <Table aria-busy="true">
      <Table.Tbody>
        {Array.from({ length: rows }, (_, r) => (
          <Table.Tr key={r}>
            {Array.from({ length: columns }, (_, c) => (
              <Table.Td key={c}>
                <Skeleton height={14} width={c === 0 ? '80%' : '60%'} radius="sm" />
              </Table.Td>
            ))}
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export function CardSkeleton({ height = 120 }: { height?: number }) {
  return (
    <Card>
      <Stack gap="sm">
        <Skeleton height={12} width="40%" />
        <Skeleton height={height - 40} />
      </Stack>
    </Card>
  );
}

export function PageSkeleton() {
  return (
    <Stack gap="lg" aria-busy="true">
      <Skeleton height={28} width={240} />
      <Group grow>
        <CardSkeleton height={96} />
        <CardSkeleton height={96} />
        <CardSkeleton height={96} />
      </Group>
      <CardSkeleton height={360} />
    </Stack>
  );
}
