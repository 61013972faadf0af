'use client';
import type { Role } from '@binfleet/db';
import {
  Button,
  Group,
  Menu,
  Modal,
  PasswordInput,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  ActionIcon,
  Badge,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconDots, IconKey, IconUserOff, IconUserCheck, IconUserPlus, IconUsers } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useUser } from '../auth/session.tsx';
import { errorMessage, useTRPC } from '../trpc/client.ts';
import type { RouterOutputs } from '../trpc/types.ts';
import { FormActions } from '../ui/form-actions.tsx';
import { Empty, ErrorState, TableSkeleton } from '../ui/states.tsx';
import { ActionsHeader } from '../ui/table-head.tsx';
import { Ago } from '../ui/time.tsx';

type UserRow = RouterOutputs['auth']['users'][number];

const ROLE_OPTIONS: { value: Role; label: string; description: string }[] = [
  { value: 'viewer', label: 'viewer', description: 'sees everything but secrets; changes nothing' },
  { value: 'operator', label: 'operator', description: 'also runs jobs and verifications' },
  { value: 'admin', label: 'admin', description: 'also users, join tokens, policies' },
];

export function UsersPanel() {
  const trpc = useTRPC();
  const users = useQuery(trpc.auth.users.queryOptions());
  const [creating, setCreating] = useState(false);
  const [resetting, setResetting] = useState<UserRow | null>(null);
  return (
    <Stack>
      <Group justify="space-between">
        <Text size="sm" c="dimmed" maw={720}>
          {ROLE_OPTIONS.map((r) => `${r.label}: ${r.description}`).join(' · ')}
        </Text>
        <Button leftSection={<IconUserPlus size={16} />} onClick={() => setCreating(true)}>
          Add user
        </Button>
      </Group>
      {users.isPending ? (
        <TableSkeleton rows={4} columns={4} />
      ) : users.isError ? (
        <ErrorState title="Could not load users" error={users.error} onRetry={() => void users.refetch()} />
      ) : users.data.length === 0 ? (
        <Empty icon={<IconUsers size={22} />} title="No users" />
      ) : (
        <Table.ScrollContainer minWidth={600}>
          <Table verticalSpacing={8} highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>User</Table.Th>
                <Table.Th w={170}>Role</Table.Th>
                <Table.Th>State</Table.Th>
                <Table.Th>Created</Table.Th>
                <ActionsHeader />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {users.data.map((u) => (
                <UserRowView key={u.id} user={u} onResetPassword={() => setResetting(u)} />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {creating && <CreateUserModal onClose={() => setCreating(false)} />}
      {resetting && <ResetPasswordModal user={resetting} onClose={() => setResetting(null)} />}
    </Stack>
  );
}

function useUpdateUser(onDone?: () => void) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return useMutation(
    trpc.auth.updateUser.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.auth.users.queryKey() });
        onDone?.();
      },
      onError: (error) =>
        notifications.show({ color: 'red', title: 'Not changed', message: errorMessage(error) }),
    }),
  );
}

function UserRowView({ user, onResetPassword }: { user: UserRow; onResetPassword: () => void }) {
  const me = useUser();
  const update = useUpdateUser();
  const self = me.id === user.id;
  return (
    <Table.Tr opacity={user.disabledAt ? 0.6 : 1}>
      <Table.Td>
        <Group gap="xs">
          <Text size="sm" fw={600}>
            {user.username}
          </Text>
          {self && (
            <Badge size="xs" variant="default">
              you
            </Badge>
          )}
        </Group>
      </Table.Td>
      <Table.Td>
        <Select
          size="xs"
          miw={120}
          aria-label={`Role of ${user.username}`}
          data={ROLE_OPTIONS}
          value={user.role}
          allowDeselect={false}
          disabled={self || update.isPending}
          onChange={(role) => role && update.mutate({ id: user.id, role: role as Role })}
        />
      </Table.Td>
      <Table.Td>
        {user.disabledAt ? (
          <Text size="sm" c="dimmed">
            disabled <Ago date={user.disabledAt} size="sm" />
          </Text>
        ) : (
          <Badge variant="light" color="teal" size="sm">
            active
          </Badge>
        )}
      </Table.Td>
      <Table.Td>
        <Ago date={user.createdAt} size="sm" />
      </Table.Td>
      <Table.Td>
        <Menu position="bottom-end">
          <Menu.Target>
            <ActionIcon
              variant="subtle"
              color="gray"
              aria-label={`Actions for ${user.username}`}
              loading={update.isPending}
            >
              <IconDots size={16} />
            </ActionIcon>
          </Menu.Target>
          <Menu.Dropdown>
            <Menu.Item leftSection={<IconKey size={16} />} onClick={onResetPassword}>
              Reset password…
            </Menu.Item>
            {!self &&
              (user.disabledAt ? (
                <Menu.Item
                  leftSection={<IconUserCheck size={16} />}
                  onClick={() => update.mutate({ id: user.id, disabled: false })}
                >
                  Enable account
                </Menu.Item>
              ) : (
                <Menu.Item
                  color="red"
                  leftSection={<IconUserOff size={16} />}
                  onClick={() => update.mutate({ id: user.id, disabled: true })}
                >
                  Disable account (signs out)
                </Menu.Item>
              ))}
          </Menu.Dropdown>
        </Menu>
      </Table.Td>
    </Table.Tr>
  );
}

function CreateUserModal({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const create = useMutation(
    trpc.auth.createUser.mutationOptions({
      onSuccess: async (u) => {
        notifications.show({ color: 'teal', message: `${u.username} can now sign in as ${u.role}.` });
        await queryClient.invalidateQueries({ queryKey: trpc.auth.users.queryKey() });
        onClose();
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ username, password, role });
  };
  return (
    <Modal opened onClose={onClose} title="Add user" centered>
      <form onSubmit={submit}>
        <Stack>
          <TextInput
            label="Username"
            description="2-32 letters, digits, '.', '_', '-'"
            required
            value={username}
            onChange={(e) => setUsername(e.currentTarget.value)}
            data-autofocus
          />
          <PasswordInput
            label="Initial password"
            description="At least 10 characters; give it to the user over a safe channel."
            required
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            autoComplete="new-password"
          />
          <Select
            label="Role"
            data={ROLE_OPTIONS.map((r) => ({ value: r.value, label: `${r.label}: ${r.description}` }))}
            value={role}
            allowDeselect={false}
            onChange={(v) => v && setRole(v as Role)}
          />
          <FormActions mutation={create} submitLabel="Add user" onCancel={onClose} />
        </Stack>
      </form>
    </Modal>
  );
}

function ResetPasswordModal({ user, onClose }: { user: UserRow; onClose: () => void }) {
  const [password, setPassword] = useState('');
  const update = useUpdateUser(() => {
    notifications.show({
      color: 'teal',
      message: `New password set for ${user.username}; their sessions were signed out.`,
    });
    onClose();
  });
  return (
    <Modal opened onClose={onClose} title={`Reset the password of ${user.username}`} centered>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate({ id: user.id, password });
        }}
      >
        <Stack>
          <PasswordInput
            label="New password"
            description="At least 10 characters. Signs the user out everywhere."
            required
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            autoComplete="new-password"
            data-autofocus
          />
          <FormActions mutation={update} submitLabel="Set password" onCancel={onClose} />
        </Stack>
      </form>
    </Modal>
  );
}
