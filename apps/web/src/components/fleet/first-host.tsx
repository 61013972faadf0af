'use client';
import { Button, Card, Group, List, Text, ThemeIcon, Title } from '@mantine/core';
import { IconKey, IconServer2 } from '@tabler/icons-react';
import Link from 'next/link';
import { useCan } from '../auth/session.tsx';
import { AddHostButton } from './add-host-modal.tsx';

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
              {isAdmin
                ? 'Add a host: binfleet makes a one-time install line.'
                : 'Ask an admin for an install line.'}
            </List.Item>
            <List.Item>Run the line on the host, as root. It installs the agent, which joins.</List.Item>
            <List.Item>The host appears here within a heartbeat, with its entries and drift.</List.Item>
          </List>
          {isAdmin && (
            <Group mt="lg">
              <AddHostButton />
              <Button
                component={Link}
                href="/settings?tab=tokens"
                variant="default"
                leftSection={<IconKey size={16} />}
              >
                Join tokens for many hosts
              </Button>
            </Group>
          )}
        </div>
      </Group>
    </Card>
  );
}
