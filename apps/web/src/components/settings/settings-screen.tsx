'use client';
import { Card, Tabs } from '@mantine/core';
import { IconKey, IconLock, IconSettings, IconUsers } from '@tabler/icons-react';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useCan } from '../auth/session.tsx';
import { PageHeader } from '../shell/page-header.tsx';
import { Empty } from '../ui/states.tsx';
import { GeneralPanel } from './general-panel.tsx';
import { TokensPanel } from './tokens-panel.tsx';
import { UsersPanel } from './users-panel.tsx';

export function SettingsScreen() {
  const isAdmin = useCan('admin');
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const asked = params.get('tab');
  const tab = asked === 'tokens' || asked === 'general' ? asked : 'users';
  if (!isAdmin) {
    return (
      <Card>
        <Empty
          icon={<IconLock size={22} />}
          title="Settings are for admins"
          description="Users and join tokens are managed by admins. Ask one if you need an account or a token."
        />
      </Card>
    );
  }
  return (
    <>
      <PageHeader title="Settings" description="Who can use binfleet, and how hosts join it." />
      <Card>
        <Tabs
          value={tab}
          onChange={(v) =>
            router.replace(
              v === 'tokens' || v === 'general' ? `${pathname}?tab=${v}` : (pathname ?? '/settings'),
            )
          }
        >
          <Tabs.List mb="md">
            <Tabs.Tab value="users" leftSection={<IconUsers size={16} />}>
              Users
            </Tabs.Tab>
            <Tabs.Tab value="tokens" leftSection={<IconKey size={16} />}>
              Join tokens
            </Tabs.Tab>
            <Tabs.Tab value="general" leftSection={<IconSettings size={16} />}>
              General
            </Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="users">
            <UsersPanel />
          </Tabs.Panel>
          <Tabs.Panel value="tokens">
            <TokensPanel />
          </Tabs.Panel>
          <Tabs.Panel value="general">
            <GeneralPanel />
          </Tabs.Panel>
        </Tabs>
      </Card>
    </>
  );
}
