'use client';
import {
  Button,
  Card,
  Center,
  Group,
  PasswordInput,
  Skeleton,
  Stack,
  Text,
  TextInput,
  ThemeIcon,
  Title,
} from '@mantine/core';
import { IconBinaryTree2, IconRocket } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter, useSearchParams } from 'next/navigation';
import { useEffect, useState, type FormEvent } from 'react';
import { csrfStore } from '../trpc/csrf-store.ts';
import { useTRPC } from '../trpc/client.ts';
import { MutationError } from '../ui/mutation-error.tsx';
import { ErrorState } from '../ui/states.tsx';
import { useMe } from './session.tsx';

/** Sign in, or on a fresh install the first-run setup that creates the first admin. */
export function LoginScreen() {
  const me = useMe();
  const router = useRouter();
  const params = useSearchParams();
  const next = safeNext(params.get('next'));
  const signedIn = Boolean(me.data?.user);

  useEffect(() => {
    if (signedIn) router.replace(next);
  }, [signedIn, next, router]);

  return (
    <Center component="main" mih="100vh" bg="var(--app-page-background)" p="md">
      <Stack w="100%" maw={400} gap="lg">
        <Group gap="sm" justify="center">
          <ThemeIcon
            size={40}
            radius="md"
            variant="gradient"
            gradient={{ from: 'indigo.7', to: 'cyan.6', deg: 135 }}
          >
            <IconBinaryTree2 size={24} />
          </ThemeIcon>
          <div>
            <Title order={1} fz={26} lh={1}>
              binfleet
            </Title>
            <Text size="sm" c="dimmed">
              QEMU binfmt_misc registrations, right on every host
            </Text>
          </div>
        </Group>
        <Card shadow="sm" padding="xl">
          {me.isError ? (
            <ErrorState
              title="binfleet is not answering"
              error={me.error}
              onRetry={() => void me.refetch()}
            />
          ) : !me.data || signedIn ? (
            <Stack>
              <Skeleton height={20} width="50%" />
              <Skeleton height={36} />
              <Skeleton height={36} />
              <Skeleton height={36} />
            </Stack>
          ) : (
            <CredentialsForm setup={me.data.needsSetup} onDone={() => router.replace(next)} />
          )}
        </Card>
      </Stack>
    </Center>
  );
}

function CredentialsForm({ setup, onDone }: { setup: boolean; onDone: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const options = {
    onSuccess: async (result: { csrf: string }) => {
      csrfStore.set(result.csrf);
      await queryClient.invalidateQueries();
      onDone();
    },
  };
  const login = useMutation(trpc.auth.login.mutationOptions(options));
  const firstRun = useMutation(trpc.auth.setup.mutationOptions(options));
  const mutation = setup ? firstRun : login;
  const mismatch = setup && confirm !== '' && confirm !== password;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (mismatch) return;
    mutation.mutate({ username, password });
  };

  return (
    <form onSubmit={submit}>
      <Stack gap="md">
        {setup ? (
          <>
            <Group gap="xs">
              <IconRocket size={20} />
              <Title order={2} fz="lg">
                First-run setup
              </Title>
            </Group>
            <Text size="sm" c="dimmed">
              No account exists yet. Create the first admin: it can then add operators and viewers, and join
              tokens for your hosts.
            </Text>
          </>
        ) : (
          <Title order={2} fz="lg">
            Sign in
          </Title>
        )}
        <MutationError error={mutation.error} />
        <TextInput
          label="Username"
          autoComplete="username"
          required
          autoFocus
          value={username}
          onChange={(e) => setUsername(e.currentTarget.value)}
        />
        <PasswordInput
          label="Password"
          autoComplete={setup ? 'new-password' : 'current-password'}
          required
          description={setup ? 'At least 10 characters.' : undefined}
          value={password}
          onChange={(e) => setPassword(e.currentTarget.value)}
        />
        {setup && (
          <PasswordInput
            label="Repeat the password"
            autoComplete="new-password"
            required
            value={confirm}
            error={mismatch ? 'The two passwords differ.' : undefined}
            onChange={(e) => setConfirm(e.currentTarget.value)}
          />
        )}
        <Button type="submit" loading={mutation.isPending} fullWidth mt="xs">
          {setup ? 'Create admin and sign in' : 'Sign in'}
        </Button>
        {!setup && (
          <Text size="xs" c="dimmed" ta="center">
            No account? Ask an admin of this binfleet.
          </Text>
        )}
      </Stack>
    </form>
  );
}

/** Only same-site paths, so a crafted link cannot send a fresh session elsewhere. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/fleet';
}
