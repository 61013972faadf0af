'use client';
import { Alert, Code, DataList, Stack, Text } from '@mantine/core';
import { IconAlertTriangle, IconKey } from '@tabler/icons-react';
import type { HostDetail } from '../trpc/types.ts';
import { Ago } from '../ui/time.tsx';

/**
 * What the agent reports going wrong on its side, shown until its heartbeats say it is over, and a
 * credential rotation still waiting for the agent.
 */
export function AgentWarnings({ host }: { host: HostDetail }) {
  // The reconciler has its own alert below, with the full message.
  const attention = host.attention.filter((r) => r.kind !== 'reconciler-failing');
  return (
    <>
      {attention.length > 0 && (
        <Alert
          color="red"
          variant="light"
          icon={<IconAlertTriangle size={18} />}
          title="This host needs attention"
          data-testid="host-attention"
        >
          <Stack gap={6}>
            {attention.map((r) => (
              <Text key={r.kind} size="sm" style={LONG_TEXT}>
                {r.message}
              </Text>
            ))}
            {host.reach.at && (
              <Text size="xs" c="dimmed">
                Agent health last checked <Ago date={host.reach.at} size="xs" />
              </Text>
            )}
          </Stack>
        </Alert>
      )}
      {host.reconcileError && (
        <Alert
          color="red"
          variant="light"
          icon={<IconAlertTriangle size={18} />}
          title="The agent's reconciler is failing"
        >
          <Stack gap="xs">
            <Text size="sm">
              Last failed <Ago date={host.reconcileError.at} size="sm" />, with:
            </Text>
            <Code block style={LONG_TEXT}>
              {host.reconcileError.message}
            </Code>
            <Text size="sm">
              Fix what it names on the host (the agent&apos;s log has its reconcile lines), then run Reset +
              register: it rewrites the agent&apos;s desired state and applies it at once. The agent also
              retries by itself, less often after each failure; this warning clears once a pass succeeds.
            </Text>
          </Stack>
        </Alert>
      )}
      {host.refusedAgentUrl && (
        <Alert
          color="yellow"
          variant="light"
          icon={<IconAlertTriangle size={18} />}
          title="The agent's new URL was refused"
        >
          <Stack gap="xs">
            <DataList labelWidth={140} size="sm" gap={4}>
              <DataList.Item>
                <DataList.ItemLabel>Agent advertises</DataList.ItemLabel>
                <DataList.ItemValue ff="monospace" style={LONG_TEXT}>
                  {host.refusedAgentUrl}
                </DataList.ItemValue>
              </DataList.Item>
              <DataList.Item>
                <DataList.ItemLabel>Jobs still go to</DataList.ItemLabel>
                <DataList.ItemValue ff="monospace" style={LONG_TEXT}>
                  {host.agentUrl}
                </DataList.ItemValue>
              </DataList.Item>
            </DataList>
            <Text size="sm">
              The control plane calls agents only at plain http(s) URLs without a username, password, query or
              fragment, and only on hosts BINFLEET_AGENT_URL_ALLOW lists when it is set; the Audit trail tab
              says which rule this URL broke. Restart the agent with an --advertise-url this server can reach
              and may call, or have an admin add its host to BINFLEET_AGENT_URL_ALLOW.
            </Text>
          </Stack>
        </Alert>
      )}
      {host.credential.rotationAskedAt && (
        <Alert color="blue" variant="light" icon={<IconKey size={18} />} title="A new credential is waiting">
          <Text size="sm">
            {host.credential.rotationAskedBy ?? 'An admin'} issued this host a new credential{' '}
            <Ago date={host.credential.rotationAskedAt} size="sm" />. Its agent receives it with the answer to
            its next heartbeat and uses it from then on; until it does, the old credential stays valid. An
            agent that stays offline, or one older than this control plane (it ignores the new credential),
            keeps the old one: upgrade it, or remove the host to revoke it.
          </Text>
        </Alert>
      )}
    </>
  );
}

/** Agent messages and URLs: wrapped anywhere, never wider than the alert they are in. */
const LONG_TEXT = { whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' } as const;
