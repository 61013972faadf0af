'use client';
import { Button, Card, Code, Group, List, Text, ThemeIcon, Title } from '@mantine/core';
import { IconKey, IconServer2 } from '@tabler/icons-react';
import Link from 'next/link';
import { useCan } from '../auth/session.tsx';

/** An empty fleet: what to do first, instead of empty charts. */
export function FirstHost() {
  const isAdmin = useCan('admin');
  return (
    <Card padding="xl">
      <Group align="flex-start" gap="lg" wrap="nowrap">
        <ThemeIcon size={48} radius="md" variant="light">
          <IconServer2 size={26} />
        </ThemeIcon>
        <div>
          <Title order={3}>Join your first host</Title>
          <Text c="dimmed" mt={4} maw={720}>
            binfleet sees a host once its agent has joined. The agent keeps the host&apos;s QEMU registrations
            right, survives reboots, and proves they work.
          </Text>
          <List type="ordered" mt="md" spacing="xs" size="sm">
            <List.Item>
              {isAdmin ? 'Create a join token in Settings.' : 'Ask an admin for a join token.'}
            </List.Item>
            <List.Item>
              On the host, as root:{' '}
              <Code>
                binfleet-agent serve --server{' '}
                {typeof window === 'undefined' ? '<this URL>' : window.location.origin} --join-token
                &lt;token&gt;
              </Code>
            </List.Item>
            <List.Item>The host appears here within a heartbeat, with its entries and drift.</List.Item>
          </List>
          {isAdmin && (
            <Button component={Link} href="/settings?tab=tokens" mt="lg" leftSection={<IconKey size={16} />}>
              Create a join token
            </Button>
          )}
        </div>
      </Group>
    </Card>
  );
}
