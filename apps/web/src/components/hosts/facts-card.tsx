'use client';
import { Alert, Badge, Card, DataList, Group, Text } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import type { HostDetail } from '../trpc/types.ts';
import { CopyIcon } from '../ui/copy-line.tsx';
import { Ago, formatDateTime } from '../ui/time.tsx';
import { GroupValue } from './group-value.tsx';
import { factsOf } from './host-facts.ts';

function yesNo(v: boolean | undefined, yes: string, no: string) {
  return v === undefined ? (
    <Text span c="dimmed" size="sm">
      unknown
    </Text>
  ) : v ? (
    yes
  ) : (
    no
  );
}

export function FactsCard({ host, canEditGroup }: { host: HostDetail; canEditGroup: boolean }) {
  const facts = factsOf(host.facts);
  const b = facts.binfmt;
  return (
    <Card h="100%">
      <Text fw={650} mb="sm">
        Facts
      </Text>
      {b?.namespaced && (
        <Alert
          color="yellow"
          variant="light"
          icon={<IconAlertTriangle size={18} />}
          mb="sm"
          py="xs"
          title="Namespaced binfmt_misc"
        >
          The agent runs in its own user namespace: registrations it makes stay inside that namespace and do
          not affect the host&apos;s containers.
        </Alert>
      )}
      {b && b.mounted === false && (
        <Alert
          color="red"
          variant="light"
          icon={<IconAlertTriangle size={18} />}
          mb="sm"
          py="xs"
          title="binfmt_misc is not mounted"
        >
          Mount it (mount -t binfmt_misc binfmt_misc {b.mountPoint ?? '/proc/sys/fs/binfmt_misc'}) or let the
          agent do it, then verify.
        </Alert>
      )}
      <DataList labelWidth={150} size="sm" withDivider gap={6}>
        <DataList.Item>
          <DataList.ItemLabel>Hostname</DataList.ItemLabel>
          <DataList.ItemValue ff="monospace">{host.hostname}</DataList.ItemValue>
        </DataList.Item>
        <DataList.Item>
          <DataList.ItemLabel>Architecture</DataList.ItemLabel>
          <DataList.ItemValue ff="monospace">{host.arch ?? '—'}</DataList.ItemValue>
        </DataList.Item>
        <DataList.Item>
          <DataList.ItemLabel>Kernel</DataList.ItemLabel>
          <DataList.ItemValue ff="monospace">{host.kernel ?? '—'}</DataList.ItemValue>
        </DataList.Item>
        <DataList.Item>
          <DataList.ItemLabel>Docker</DataList.ItemLabel>
          <DataList.ItemValue>
            {host.dockerVersion
              ? `${host.dockerVersion}${facts.docker?.apiVersion ? ` (API ${facts.docker.apiVersion})` : ''}`
              : facts.docker?.error
                ? `not reachable: ${facts.docker.error}`
                : 'not installed or not reachable'}
          </DataList.ItemValue>
        </DataList.Item>
        <DataList.Item>
          <DataList.ItemLabel>Agent</DataList.ItemLabel>
          <DataList.ItemValue>
            <Group gap={6}>
              {host.transport === 'dial-out' ? (
                <Text
                  size="sm"
                  title="The agent holds a channel open to the control plane; nothing connects to the host"
                >
                  dials out (no inbound port)
                </Text>
              ) : (
                <>
                  <Text size="sm" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
                    {host.agentUrl}
                  </Text>
                  <CopyIcon value={host.agentUrl} />
                </>
              )}
              {facts.agentVersion && (
                <Badge
                  size="xs"
                  variant={host.attention.some((r) => r.kind === 'agent-behind') ? 'light' : 'default'}
                  color={host.attention.some((r) => r.kind === 'agent-behind') ? 'orange' : undefined}
                  title={
                    host.servedAgentVersion
                      ? `this control plane serves ${host.servedAgentVersion}`
                      : 'this control plane serves no agent release'
                  }
                >
                  v{facts.agentVersion}
                  {host.servedAgentVersion && host.servedAgentVersion !== facts.agentVersion
                    ? ` (served: ${host.servedAgentVersion})`
                    : ''}
                </Badge>
              )}
            </Group>
          </DataList.ItemValue>
        </DataList.Item>
        <DataList.Item>
          <DataList.ItemLabel>binfmt_misc</DataList.ItemLabel>
          <DataList.ItemValue>
            {b ? (
              <Group gap={6}>
                <Text size="sm" ff="monospace">
                  {b.mountPoint ?? '—'}
                </Text>
                <Badge size="xs" color={b.mounted ? 'teal' : 'red'} variant="light">
                  {b.mounted ? 'mounted' : 'not mounted'}
                </Badge>
                {b.writable === false && (
                  <Badge size="xs" color="red" variant="light">
                    read-only
                  </Badge>
                )}
                <Badge size="xs" color={b.namespaced ? 'yellow' : 'gray'} variant="light">
                  {yesNo(b.namespaced, 'namespaced', 'host namespace')}
                </Badge>
              </Group>
            ) : (
              <Text size="sm" c="dimmed">
                not reported
              </Text>
            )}
          </DataList.ItemValue>
        </DataList.Item>
        <DataList.Item>
          <DataList.ItemLabel>Group</DataList.ItemLabel>
          <DataList.ItemValue>
            <GroupValue host={host} canEdit={canEditGroup} />
          </DataList.ItemValue>
        </DataList.Item>
        <DataList.Item>
          <DataList.ItemLabel>Joined</DataList.ItemLabel>
          <DataList.ItemValue>{formatDateTime(host.createdAt)}</DataList.ItemValue>
        </DataList.Item>
        <DataList.Item>
          <DataList.ItemLabel>Entries read</DataList.ItemLabel>
          <DataList.ItemValue>
            {host.snapshot ? (
              <>
                changed <Ago date={host.snapshot.takenAt} size="sm" />, confirmed{' '}
                <Ago date={host.snapshot.lastSeenAt} size="sm" />
              </>
            ) : (
              'never'
            )}
          </DataList.ItemValue>
        </DataList.Item>
      </DataList>
    </Card>
  );
}
