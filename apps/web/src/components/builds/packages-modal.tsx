'use client';
import { ActionIcon, Modal, Stack, Table, Text, Tooltip } from '@mantine/core';
import { IconPackage, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '../trpc/client.ts';
import { ConfirmModal } from '../ui/confirm-modal.tsx';
import { formatBytes } from '../ui/copy-line.tsx';
import { Empty, ErrorState, TableSkeleton } from '../ui/states.tsx';
import { ActionsHeader } from '../ui/table-head.tsx';
import { Ago } from '../ui/time.tsx';

/** Admins: the QEMU packages uploaded for builds, to delete those no longer needed. */
export function PackagesModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const packages = useQuery(trpc.builds.packages.queryOptions(undefined, { enabled: opened }));
  const [deleting, setDeleting] = useState<{ id: string; filename: string; what: string } | null>(null);
  const remove = useMutation(
    trpc.builds.deletePackage.mutationOptions({
      onSuccess: () => {
        setDeleting(null);
        void queryClient.invalidateQueries({ queryKey: trpc.builds.packages.queryKey() });
      },
    }),
  );
  return (
    <Modal opened={opened} onClose={onClose} title="Uploaded packages" size="xl">
      <Stack>
        <Text size="sm" c="dimmed">
          Packages uploaded in the New build dialog, kept on the server until deleted. Builds that used one
          keep their record of it, but cannot be re-run once it is deleted.
        </Text>
        {packages.isPending ? (
          <TableSkeleton rows={3} columns={5} />
        ) : packages.isError ? (
          <ErrorState error={packages.error} onRetry={() => void packages.refetch()} />
        ) : packages.data.length === 0 ? (
          <Empty
            icon={<IconPackage size={22} />}
            title="Nothing uploaded"
            description="Upload a .deb in the New build dialog."
          />
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table verticalSpacing={6}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>File</Table.Th>
                  <Table.Th>Package</Table.Th>
                  <Table.Th ta="right">Size</Table.Th>
                  <Table.Th>Uploaded</Table.Th>
                  <ActionsHeader w={40} />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {packages.data.map((p) => (
                  <Table.Tr key={p.id} data-testid={`package-${p.sha256}`}>
                    <Table.Td>
                      <Text size="sm" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
                        {p.filename}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">
                        {p.version}{' '}
                        <Text span size="xs" c="dimmed">
                          {p.architecture}
                        </Text>
                      </Text>
                    </Table.Td>
                    <Table.Td ta="right" style={{ whiteSpace: 'nowrap' }}>
                      <Text size="sm">{formatBytes(p.size)}</Text>
                    </Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>
                      <Ago date={p.createdAt} size="sm" />
                      <Text span size="sm" c="dimmed">
                        {p.uploadedBy && ` by ${p.uploadedBy}`}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Tooltip label="Delete the package from the server">
                        <ActionIcon
                          variant="subtle"
                          color="red"
                          aria-label={`Delete ${p.filename}`}
                          onClick={() => {
                            remove.reset();
                            setDeleting({
                              id: p.id,
                              filename: p.filename,
                              what: `${p.version} ${p.architecture}, ${formatBytes(p.size)}`,
                            });
                          }}
                        >
                          <IconTrash size={16} />
                        </ActionIcon>
                      </Tooltip>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Stack>
      <ConfirmModal
        opened={deleting !== null}
        onClose={() => setDeleting(null)}
        title="Delete this package?"
        error={remove.error}
        cancelDisabled={remove.isPending}
        confirmLabel="Delete the package"
        confirmColor="red"
        loading={remove.isPending}
        onConfirm={() => deleting && remove.mutate({ id: deleting.id })}
      >
        Deletes {deleting?.filename} ({deleting?.what}) from the server. Builds that used it keep their
        record, but cannot be re-run; builders keep their own copy until they are removed. A queued or running
        build that uses it keeps it: the server refuses then.
      </ConfirmModal>
    </Modal>
  );
}
