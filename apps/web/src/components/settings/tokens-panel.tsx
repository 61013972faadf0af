'use client';
import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Code,
  CopyButton,
  Group,
  Modal,
  NumberInput,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconAlertTriangle, IconCheck, IconCopy, IconKey, IconPlus, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '../trpc/client.ts';
import type { RouterOutputs } from '../trpc/types.ts';
import { ConfirmModal } from '../ui/confirm-modal.tsx';
import { FormActions } from '../ui/form-actions.tsx';
import { Empty, ErrorState, TableSkeleton } from '../ui/states.tsx';
import { ActionsHeader } from '../ui/table-head.tsx';
import { Ago, formatDateTime } from '../ui/time.tsx';

type TokenRow = RouterOutputs['tokens']['list'][number];

const EXPIRY = [
  { value: '1', label: '1 hour' },
  { value: '24', label: '1 day' },
  { value: '168', label: '1 week' },
  { value: '720', label: '30 days' },
  { value: '8760', label: '1 year' },
];

function tokenState(t: TokenRow, now: number): { label: string; color: string } {
  if (t.revokedAt) return { label: 'revoked', color: 'gray' };
  if (t.expiresAt.getTime() < now) return { label: 'expired', color: 'gray' };
  if (t.maxUses !== null && t.uses >= t.maxUses) return { label: 'used up', color: 'gray' };
  return { label: 'active', color: 'teal' };
}

export function TokensPanel() {
  const trpc = useTRPC();
  const tokens = useQuery(trpc.tokens.list.queryOptions());
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<TokenRow | null>(null);
  const now = Date.now();
  return (
    <Stack>
      <Group justify="space-between">
        <Text size="sm" c="dimmed" maw={720}>
          A join token lets an agent join the fleet once or a few times; each host then gets its own
          credential. Tokens are stored hashed: copy one when it is created.
        </Text>
        <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
          Create join token
        </Button>
      </Group>
      {tokens.isPending ? (
        <TableSkeleton rows={4} columns={6} />
      ) : tokens.isError ? (
        <ErrorState
          title="Could not load join tokens"
          error={tokens.error}
          onRetry={() => void tokens.refetch()}
        />
      ) : tokens.data.length === 0 ? (
        <Empty
          icon={<IconKey size={22} />}
          title="No join token yet"
          description="Create one, then run the command it shows on each host to join."
        />
      ) : (
        <Table.ScrollContainer minWidth={720}>
          <Table verticalSpacing={8} highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Label</Table.Th>
                <Table.Th>State</Table.Th>
                <Table.Th>Uses</Table.Th>
                <Table.Th>Expires</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>Created</Table.Th>
                <ActionsHeader />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {tokens.data.map((t) => {
                const state = tokenState(t, now);
                return (
                  <Table.Tr key={t.id}>
                    <Table.Td>
                      <Text size="sm" fw={600}>
                        {t.label}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Badge size="sm" variant="light" color={state.color}>
                        {state.label}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">
                        {t.uses} / {t.maxUses ?? '∞'}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" title={formatDateTime(t.expiresAt)}>
                        {t.expiresAt.getTime() > now ? (
                          `in ${Math.max(1, Math.round((t.expiresAt.getTime() - now) / 3600_000))} h`
                        ) : (
                          <Ago date={t.expiresAt} size="sm" />
                        )}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Ago
                        date={t.lastUsedAt}
                        size="sm"
                        never="never"
                        c={t.lastUsedAt ? undefined : 'dimmed'}
                      />
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">
                        <Ago date={t.createdAt} size="sm" /> {t.createdBy ? `by ${t.createdBy.username}` : ''}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      {state.label === 'active' && (
                        <Tooltip label="Revoke">
                          <ActionIcon
                            variant="subtle"
                            color="red"
                            aria-label={`Revoke ${t.label}`}
                            onClick={() => setRevoking(t)}
                          >
                            <IconTrash size={16} />
                          </ActionIcon>
                        </Tooltip>
                      )}
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {creating && <CreateTokenModal onClose={() => setCreating(false)} />}
      {revoking && <RevokeModal token={revoking} onClose={() => setRevoking(null)} />}
    </Stack>
  );
}

function CreateTokenModal({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [label, setLabel] = useState('');
  const [expires, setExpires] = useState('24');
  const [maxUses, setMaxUses] = useState<number | string>(1);
  const create = useMutation(
    trpc.tokens.create.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.tokens.list.queryKey() }),
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({
      label,
      expiresInHours: Number(expires),
      maxUses: maxUses === '' ? null : Number(maxUses),
    });
  };
  const created = create.data;
  return (
    <Modal
      opened
      onClose={onClose}
      title={created ? `Join token “${created.label}”` : 'Create join token'}
      centered
      size={created ? 'xl' : 'md'}
      closeOnClickOutside={!created}
    >
      {created ? (
        <Stack>
          <Alert
            color="yellow"
            variant="light"
            icon={<IconAlertTriangle size={18} />}
            title="Copy it now: it is shown only once"
          >
            binfleet keeps only a hash of the token. If it is lost, revoke it and create another.
          </Alert>
          <CopyLine
            label="On each host, as root"
            value={`binfleet-agent serve --server ${window.location.origin} --join-token ${created.token}`}
          />
          <CopyLine label="The token alone" value={created.token} />
          <Text size="sm" c="dimmed">
            Valid until {formatDateTime(created.expiresAt)}, for{' '}
            {created.maxUses === null
              ? 'any number of hosts'
              : `${created.maxUses} host${created.maxUses === 1 ? '' : 's'}`}
            .
          </Text>
          <Group justify="flex-end">
            <Button onClick={onClose}>I have copied it</Button>
          </Group>
        </Stack>
      ) : (
        <form onSubmit={submit}>
          <Stack>
            <TextInput
              label="Label"
              description="What it is for, e.g. ci-runners-march"
              required
              value={label}
              onChange={(e) => setLabel(e.currentTarget.value)}
              data-autofocus
            />
            <Select
              label="Expires after"
              data={EXPIRY}
              value={expires}
              allowDeselect={false}
              onChange={(v) => v && setExpires(v)}
            />
            <NumberInput
              label="Hosts that may join with it"
              description="Empty: any number until it expires."
              min={1}
              max={100000}
              value={maxUses}
              onChange={setMaxUses}
              allowDecimal={false}
            />
            <FormActions mutation={create} submitLabel="Create token" onCancel={onClose} />
          </Stack>
        </form>
      )}
    </Modal>
  );
}

function CopyLine({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <Text size="sm" fw={600} mb={4}>
        {label}
      </Text>
      <Group gap="xs" wrap="nowrap" align="flex-start">
        <Code
          block
          style={{ flex: 1, whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}
          data-testid="copy-value"
        >
          {value}
        </Code>
        <CopyButton value={value}>
          {({ copied, copy }) => (
            <Button
              variant={copied ? 'light' : 'default'}
              color={copied ? 'teal' : undefined}
              leftSection={copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
              onClick={copy}
              w={100}
            >
              {copied ? 'Copied' : 'Copy'}
            </Button>
          )}
        </CopyButton>
      </Group>
    </div>
  );
}

function RevokeModal({ token, onClose }: { token: TokenRow; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const revoke = useMutation(
    trpc.tokens.revoke.mutationOptions({
      onSuccess: async () => {
        notifications.show({ color: 'teal', message: `Join token ${token.label} revoked.` });
        await queryClient.invalidateQueries({ queryKey: trpc.tokens.list.queryKey() });
        onClose();
      },
    }),
  );
  return (
    <ConfirmModal
      opened
      onClose={onClose}
      title={`Revoke “${token.label}”?`}
      error={revoke.error}
      confirmLabel="Revoke"
      confirmColor="red"
      loading={revoke.isPending}
      onConfirm={() => revoke.mutate({ id: token.id })}
    >
      No further host can join with it. Hosts that joined with it keep their own credentials and stay in the
      fleet.
    </ConfirmModal>
  );
}
