'use client';
import { Badge, Card, Tabs } from '@mantine/core';
import { IconCpu, IconFlask, IconHistory, IconListCheck, IconTable } from '@tabler/icons-react';
import type { HostDetail } from '../trpc/types.ts';
import { EntriesPanel } from './entries-table.tsx';
import { HostAudit } from './host-audit.tsx';
import { HostJobs } from './host-jobs-table.tsx';
import { Interpreters } from './interpreters-table.tsx';
import { SelfTests } from './self-tests-table.tsx';

/** The host's records, one tab each: kernel entries first, as they are what the page is opened for. */
export function HostTabs({ host }: { host: HostDetail }) {
  return (
    <Card padding={0}>
      <Tabs defaultValue="entries" keepMounted={false}>
        <Tabs.List px="md" pt="xs">
          <Tabs.Tab value="entries" leftSection={<IconTable size={16} />}>
            Kernel entries{' '}
            <Badge size="xs" variant="light" ml={4}>
              {host.entries.length}
            </Badge>
          </Tabs.Tab>
          <Tabs.Tab value="tests" leftSection={<IconFlask size={16} />}>
            Self-tests{' '}
            <Badge size="xs" variant="light" ml={4}>
              {host.verify.length}
            </Badge>
          </Tabs.Tab>
          <Tabs.Tab value="interpreters" leftSection={<IconCpu size={16} />}>
            Interpreters
          </Tabs.Tab>
          <Tabs.Tab value="jobs" leftSection={<IconListCheck size={16} />}>
            Jobs{' '}
            <Badge size="xs" variant="light" ml={4}>
              {host.jobs.length}
            </Badge>
          </Tabs.Tab>
          <Tabs.Tab value="audit" leftSection={<IconHistory size={16} />}>
            Audit trail
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="entries" p="md">
          <EntriesPanel host={host} />
        </Tabs.Panel>
        <Tabs.Panel value="tests" p="md">
          <SelfTests host={host} />
        </Tabs.Panel>
        <Tabs.Panel value="interpreters" p="md">
          <Interpreters host={host} />
        </Tabs.Panel>
        <Tabs.Panel value="jobs" p="md">
          <HostJobs host={host} />
        </Tabs.Panel>
        <Tabs.Panel value="audit" p="md">
          <HostAudit hostname={host.hostname} />
        </Tabs.Panel>
      </Tabs>
    </Card>
  );
}
