'use client';
import { Alert, Anchor, Card, DataList, Group, Stack, Text } from '@mantine/core';
import { IconAlertTriangle, IconCheck } from '@tabler/icons-react';
import Link from 'next/link';
import type { HostDetail } from '../trpc/types.ts';

/** The policy that applies to the host and how far its kernel is from it. */
export function PolicyCard({ host }: { host: HostDetail }) {
  const p = host.policy;
  const counts = new Map<string, number>();
  for (const d of host.drift) counts.set(d.kind, (counts.get(d.kind) ?? 0) + 1);
  return (
    <Card h="100%">
      <Group justify="space-between" mb="sm">
        <Text fw={650}>Policy</Text>
        <Anchor component={Link} href="/policy" size="sm">
          Edit policies
        </Anchor>
      </Group>
      {!p ? (
        <Text size="sm" c="dimmed">
          No fleet or group policy applies, so drift is not computed for this host. An admin can set one on
          the Policy page.
        </Text>
      ) : (
        <Stack gap="sm">
          <DataList labelWidth={120} size="sm" gap={6}>
            <DataList.Item>
              <DataList.ItemLabel>Targets</DataList.ItemLabel>
              <DataList.ItemValue>
                {p.targets.length === 0 ? 'what the host needs' : p.targets.join(', ')}
              </DataList.ItemValue>
            </DataList.Item>
            <DataList.Item>
              <DataList.ItemLabel>Flags</DataList.ItemLabel>
              <DataList.ItemValue ff="monospace">{p.flags || 'none'}</DataList.ItemValue>
            </DataList.Item>
            <DataList.Item>
              <DataList.ItemLabel>Interpreters</DataList.ItemLabel>
              <DataList.ItemValue ff="monospace">
                {p.interpreterDir}/qemu-*{p.suffix}
              </DataList.ItemValue>
            </DataList.Item>
            <DataList.Item>
              <DataList.ItemLabel>Auto-heal</DataList.ItemLabel>
              <DataList.ItemValue>{p.autoHeal ? 'on: drift queues a job' : 'off'}</DataList.ItemValue>
            </DataList.Item>
          </DataList>
          {host.drift.length === 0 ? (
            <Alert color="teal" variant="light" icon={<IconCheck size={18} />} py="xs">
              The kernel&apos;s entries match the policy.
            </Alert>
          ) : (
            <Alert
              color="orange"
              variant="light"
              icon={<IconAlertTriangle size={18} />}
              py="xs"
              title={`${host.drift.length} difference${host.drift.length === 1 ? '' : 's'} from the policy`}
            >
              {[...counts].map(([kind, n]) => `${n} ${kind.replace('wrong-', 'wrong ')}`).join(' · ')}. Marked
              in the entries below; Reset + register with the policy fixes them.
            </Alert>
          )}
        </Stack>
      )}
    </Card>
  );
}
