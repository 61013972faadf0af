'use client';
import {
  AppShell,
  Burger,
  Button,
  Center,
  Divider,
  Group,
  Loader,
  NavLink,
  Progress,
  Skeleton,
  Stack,
  Text,
  ThemeIcon,
} from '@mantine/core';
import { useDisclosure, useDebouncedValue } from '@mantine/hooks';
import {
  IconBinaryTree2,
  IconBox,
  IconHammer,
  IconHistory,
  IconListCheck,
  IconLogout,
  IconServer2,
  IconSettings,
  IconShieldCheck,
} from '@tabler/icons-react';
import { useIsFetching, useIsMutating, useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { useEffect, type ReactNode } from 'react';
import { UserContext, useMe, type SignedInUser } from '../auth/session.tsx';
import { RoleBadge } from '../ui/badges.tsx';
import { ErrorState } from '../ui/states.tsx';
import { csrfStore } from '../trpc/csrf-store.ts';
import { errorMessage, useTRPC } from '../trpc/client.ts';
import { notifications } from '@mantine/notifications';
import { ColorSchemeToggle } from './color-scheme-toggle.tsx';
import classes from './shell.module.css';

const NAV = [
  { href: '/fleet', label: 'Fleet', icon: IconServer2, match: ['/fleet', '/hosts'] },
  { href: '/jobs', label: 'Jobs', icon: IconListCheck, match: ['/jobs'] },
  { href: '/policy', label: 'Policy', icon: IconShieldCheck, match: ['/policy'] },
  { href: '/audit', label: 'Audit log', icon: IconHistory, match: ['/audit'] },
] as const;

const IMAGE_NAV = [
  { href: '/catalogue', label: 'Catalogue', icon: IconBox, match: ['/catalogue'] },
  { href: '/builds', label: 'Builds', icon: IconHammer, match: ['/builds'] },
] as const;

/** The signed-in frame: top bar, navigation, and the session every page below relies on. */
export function AppFrame({ children }: { children: ReactNode }) {
  const me = useMe();
  const router = useRouter();
  const pathname = usePathname();
  const signedOut = me.data !== undefined && me.data.user === null;

  useEffect(() => {
    if (signedOut)
      router.replace(pathname && pathname !== '/' ? `/login?next=${encodeURIComponent(pathname)}` : '/login');
  }, [signedOut, pathname, router]);

  if (me.isError) {
    return (
      <Center h="100vh" p="xl">
        <ErrorState title="binfleet is not answering" error={me.error} onRetry={() => void me.refetch()} />
      </Center>
    );
  }
  if (!me.data?.user) return <FrameSkeleton />;
  return (
    <UserContext.Provider value={me.data.user}>
      <Frame user={me.data.user}>{children}</Frame>
    </UserContext.Provider>
  );
}

function Frame({ user, children }: { user: SignedInUser; children: ReactNode }) {
  const [opened, { toggle, close }] = useDisclosure();
  const pathname = usePathname();
  useEffect(close, [pathname, close]);
  return (
    <>
      <a href="#main" className={classes.skipLink}>
        Skip to content
      </a>
      <AppShell
        header={{ height: 56 }}
        navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }}
        padding="lg"
      >
        <AppShell.Header>
          <Group h="100%" px="md" justify="space-between" wrap="nowrap">
            <Group gap="sm" wrap="nowrap">
              <Burger
                opened={opened}
                onClick={toggle}
                hiddenFrom="sm"
                size="sm"
                aria-label="Navigation"
                aria-expanded={opened}
                aria-controls="app-navigation"
              />
              <Brand />
            </Group>
            <UserBox user={user} />
          </Group>
          <ActivityBar />
        </AppShell.Header>
        <AppShell.Navbar p="sm" id="app-navigation" aria-label="Main">
          {/* On a phone the header has no room for who is signed in: the navigation says it. */}
          <Group gap="xs" px="sm" pb="sm" mb="xs" hiddenFrom="xs" wrap="nowrap">
            <Text size="sm" fw={600}>
              {user.username}
            </Text>
            <RoleBadge role={user.role} />
          </Group>
          <Navigation isAdmin={user.role === 'admin'} pathname={pathname ?? ''} />
        </AppShell.Navbar>
        <AppShell.Main id="main" tabIndex={-1} className={classes.main} bg="var(--app-page-background)">
          {children}
        </AppShell.Main>
      </AppShell>
    </>
  );
}

function Brand() {
  return (
    <Link href="/fleet" style={{ textDecoration: 'none', color: 'inherit' }}>
      <Group gap={8} wrap="nowrap">
        <ThemeIcon
          size={30}
          radius="md"
          variant="gradient"
          gradient={{ from: 'indigo.7', to: 'cyan.6', deg: 135 }}
        >
          <IconBinaryTree2 size={18} />
        </ThemeIcon>
        <div>
          <Text fw={700} size="lg" lh={1.1}>
            binfleet
          </Text>
          <Text size="xs" c="dimmed" lh={1.1} visibleFrom="sm">
            binfmt_misc across the fleet
          </Text>
        </div>
      </Group>
    </Link>
  );
}

function UserBox({ user }: { user: SignedInUser }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const logout = useMutation(
    trpc.auth.logout.mutationOptions({
      onSettled: () => {
        csrfStore.set(null);
        queryClient.clear();
        router.replace('/login');
      },
      onError: (error) =>
        notifications.show({ color: 'red', title: 'Sign-out', message: errorMessage(error) }),
    }),
  );
  return (
    <Group gap="xs" wrap="nowrap">
      <Group gap="sm" wrap="nowrap" visibleFrom="xs">
        <Text size="sm" fw={600} data-testid="signed-in-user">
          {user.username}
        </Text>
        <RoleBadge role={user.role} data-testid="signed-in-role" />
        <Divider orientation="vertical" />
      </Group>
      <ColorSchemeToggle />
      <Button
        variant="subtle"
        color="gray"
        size="compact-sm"
        px={6}
        leftSection={<IconLogout size={16} />}
        loading={logout.isPending}
        onClick={() => logout.mutate()}
      >
        Sign out
      </Button>
    </Group>
  );
}

/** A thin bar under the header while anything loads or runs, so waits over a second never look frozen. */
function ActivityBar() {
  const busy = useIsFetching() + useIsMutating() > 0;
  const [shown] = useDebouncedValue(busy, busy ? 400 : 0);
  if (!(busy && shown)) return null;
  return (
    <Progress
      value={100}
      animated
      size={2}
      radius={0}
      pos="absolute"
      bottom={0}
      left={0}
      right={0}
      aria-label="Loading"
    />
  );
}

function Navigation({ isAdmin, pathname }: { isAdmin: boolean; pathname: string }) {
  const active = (match: readonly string[]) =>
    match.some((m) => pathname === m || pathname.startsWith(`${m}/`));
  return (
    <Stack gap={2} h="100%">
      {NAV.map((item) => (
        <NavLink
          key={item.href}
          component={Link}
          href={item.href}
          label={item.label}
          leftSection={<item.icon size={18} stroke={1.7} />}
          active={active(item.match)}
        />
      ))}
      {isAdmin && (
        <NavLink
          component={Link}
          href="/settings"
          label="Settings"
          leftSection={<IconSettings size={18} stroke={1.7} />}
          active={active(['/settings'])}
        />
      )}
      <Text size="xs" c="dimmed" fw={600} tt="uppercase" mt="lg" mb={4} px="sm">
        Images
      </Text>
      {IMAGE_NAV.map((item) => (
        <NavLink
          key={item.href}
          component={Link}
          href={item.href}
          label={item.label}
          leftSection={<item.icon size={18} stroke={1.7} />}
          active={active(item.match)}
        />
      ))}
    </Stack>
  );
}

function FrameSkeleton() {
  return (
    <Center h="100vh">
      <Group gap="sm">
        <Loader size="sm" />
        <Skeleton height={12} width={120} />
      </Group>
    </Center>
  );
}
