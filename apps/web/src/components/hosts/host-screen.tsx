'use client';
import {
  ActionIcon,
  Alert,
  Anchor,
  Badge,
  Breadcrumbs,
  Button,
  Card,
  Code,
  CopyButton,
  DataList,
  Grid,
  Group,
  Menu,
  Modal,
  Skeleton,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import {
  IconAlertTriangle,
  IconCheck,
  IconCopy,
  IconDots,
  IconFlask,
  IconHistory,
  IconListCheck,
  IconPencil,
  IconTable,
  IconTrash,
  IconCpu,
} from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useParams, useRouter } from 'next/navigation';
import { useState } from 'react';
import { JobActionButtons } from '../actions/job-actions.tsx';
import { AuditTable } from '../audit/audit-table.tsx';
import { useCan } from '../auth/session.tsx';
import { PageHeader } from '../shell/page-header.tsx';
import { errorMessage, httpStatusOf, useTRPC, useTRPCClient } from '../trpc/client.ts';
import { useCursorPages } from '../trpc/cursor-pages.ts';
import type { HostDetail } from '../trpc/types.ts';
import { OnlineBadge, RunStatusBadge } from '../ui/badges.tsx';
import { Empty, ErrorState, PageSkeleton, TableSkeleton } from '../ui/states.tsx';
import { Ago, formatDateTime, formatDuration } from '../ui/time.tsx';
import { EntriesTable } from './entries-table.tsx';
import { factsOf } from './host-facts.ts';

export function HostScreen() {
  const { id } = useParams<{ id: string }>();
  const trpc = useTRPC();
  const host = useQuery(trpc.fleet.host.queryOptions({ id }, { refetchInterval: 15_000 }));
  const canAct = useCan('operator');
  const isAdmin = useCan('admin');

  if (host.isPending) return <PageSkeleton />;
  if (host.isError) {
    return (
      <Stack>
        <HostCrumbs name={id} />
        <ErrorState
          title={httpStatusOf(host.error) === 404 ? 'Host not found' : 'Could not load this host'}
          error={host.error}
          onRetry={httpStatusOf(host.error) === 404 ? undefined : () => void host.refetch()}
        />
      </Stack>
    );
  }
  const h = host.data;
  return (
    <Stack gap="lg">
      <div>
        <HostCrumbs name={h.hostname} />
        <PageHeader
          title={<span style={{ fontFamily: 'var(--mantine-font-family-monospace)' }}>{h.hostname}</span>}
          badges={
            <>
              <OnlineBadge online={h.online} size="lg" />
              {h.group && (
                <Badge variant="default" size="lg">
                  {h.group}
                </Badge>
              )}
              {h.drift.length > 0 ? (
                <Badge color="orange" size="lg">
                  {h.drift.length} drifted
                </Badge>
              ) : (
                h.policy && (
                  <Badge color="teal" variant="light" size="lg">
                    in policy
                  </Badge>
                )
              )}
            </>
          }
          description={
            <>
              {h.online ? 'Reporting' : 'Not reporting'} ·{' '}
              <Ago date={h.lastSeenAt} prefix="last seen" never="never seen" size="sm" />
              {!h.online && ' · what follows is the last state it reported'}
            </>
          }
          actions={
            <>
              {canAct && <JobActionButtons selection={{ hostIds: [h.id], names: [h.hostname] }} />}
              {isAdmin && <HostMenu host={h} />}
            </>
          }
        />
      </div>
      <AgentWarnings host={h} />
      <Grid gap="md">
        <Grid.Col span={{ base: 12, lg: 7 }}>
          <FactsCard host={h} canEditGroup={canAct} />
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 5 }}>
          <PolicyCard host={h} />
        </Grid.Col>
      </Grid>
      <Card padding={0}>
        <Tabs defaultValue="entries" keepMounted={false}>
          <Tabs.List px="md" pt="xs">
            <Tabs.Tab value="entries" leftSection={<IconTable size={16} />}>
              Kernel entries{' '}
              <Badge size="xs" variant="light" ml={4}>
                {h.entries.length}
              </Badge>
            </Tabs.Tab>
            <Tabs.Tab value="tests" leftSection={<IconFlask size={16} />}>
              Self-tests{' '}
              <Badge size="xs" variant="light" ml={4}>
                {h.verify.length}
              </Badge>
            </Tabs.Tab>
            <Tabs.Tab value="interpreters" leftSection={<IconCpu size={16} />}>
              Interpreters
            </Tabs.Tab>
            <Tabs.Tab value="jobs" leftSection={<IconListCheck size={16} />}>
              Jobs{' '}
              <Badge size="xs" variant="light" ml={4}>
                {h.jobs.length}
              </Badge>
            </Tabs.Tab>
            <Tabs.Tab value="audit" leftSection={<IconHistory size={16} />}>
              Audit trail
            </Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="entries" p="md">
            <EntriesPanel host={h} />
          </Tabs.Panel>
          <Tabs.Panel value="tests" p="md">
            <SelfTests host={h} />
          </Tabs.Panel>
          <Tabs.Panel value="interpreters" p="md">
            <Interpreters host={h} />
          </Tabs.Panel>
          <Tabs.Panel value="jobs" p="md">
            <HostJobs host={h} />
          </Tabs.Panel>
          <Tabs.Panel value="audit" p="md">
            <HostAudit hostname={h.hostname} />
          </Tabs.Panel>
        </Tabs>
      </Card>
    </Stack>
  );
}

function HostCrumbs({ name }: { name: string }) {
  return (
    <Breadcrumbs mb="xs" fz="sm">
      <Anchor component={Link} href="/fleet" size="sm">
        Fleet
      </Anchor>
      <Text size="sm" c="dimmed">
        {name}
      </Text>
    </Breadcrumbs>
  );
}

/** What the agent reports going wrong on its side: shown until its heartbeats say it is over. */
function AgentWarnings({ host }: { host: HostDetail }) {
  return (
    <>
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
    </>
  );
}

/** Agent messages and URLs: wrapped anywhere, never wider than the alert they are in. */
const LONG_TEXT = { whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' } as const;

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

function FactsCard({ host, canEditGroup }: { host: HostDetail; canEditGroup: boolean }) {
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
            <Group gap={6} wrap="nowrap">
              <Text size="sm" ff="monospace">
                {host.agentUrl}
              </Text>
              <CopyValue value={host.agentUrl} />
              {facts.agentVersion && (
                <Badge size="xs" variant="default">
                  v{facts.agentVersion}
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

function CopyValue({ value }: { value: string }) {
  return (
    <CopyButton value={value} timeout={1500}>
      {({ copied, copy }) => (
        <Tooltip label={copied ? 'Copied' : 'Copy'}>
          <ActionIcon
            size="sm"
            variant="subtle"
            color={copied ? 'teal' : 'gray'}
            onClick={copy}
            aria-label="Copy"
          >
            {copied ? <IconCheck size={14} /> : <IconCopy size={14} />}
          </ActionIcon>
        </Tooltip>
      )}
    </CopyButton>
  );
}

function GroupValue({ host, canEdit }: { host: HostDetail; canEdit: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(host.group ?? '');
  const setGroup = useMutation(
    trpc.fleet.setGroup.mutationOptions({
      onSuccess: async () => {
        setEditing(false);
        notifications.show({
          color: 'teal',
          message: value ? `${host.hostname} is now in group ${value}.` : `${host.hostname} left its group.`,
        });
        await queryClient.invalidateQueries({ queryKey: trpc.fleet.pathKey() });
      },
    }),
  );
  return (
    <>
      <Group gap={6}>
        {host.group ? (
          <Badge variant="default">{host.group}</Badge>
        ) : (
          <Text size="sm" c="dimmed">
            no group (fleet policy applies)
          </Text>
        )}
        {canEdit && (
          <ActionIcon
            size="sm"
            variant="subtle"
            color="gray"
            aria-label="Change group"
            onClick={() => setEditing(true)}
          >
            <IconPencil size={14} />
          </ActionIcon>
        )}
      </Group>
      <Modal opened={editing} onClose={() => setEditing(false)} title="Change group" centered>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setGroup.mutate({ hostIds: [host.id], group: value.trim() || null });
          }}
        >
          <Stack>
            <TextInput
              label="Group"
              description="The group's policy applies to the host; empty: the fleet policy."
              placeholder="e.g. ci-x86"
              value={value}
              onChange={(e) => setValue(e.currentTarget.value)}
              error={setGroup.isError ? errorMessage(setGroup.error) : undefined}
              data-autofocus
            />
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setEditing(false)}>
                Cancel
              </Button>
              <Button type="submit" loading={setGroup.isPending}>
                Save
              </Button>
            </Group>
          </Stack>
        </form>
      </Modal>
    </>
  );
}

function PolicyCard({ host }: { host: HostDetail }) {
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

function EntriesPanel({ host }: { host: HostDetail }) {
  if (host.entries.length === 0 && host.drift.length === 0) {
    return (
      <Empty
        icon={<IconTable size={22} />}
        title="No binfmt_misc entries"
        description="The kernel has no registration on this host. Reset + register adds what it needs."
      />
    );
  }
  return <EntriesTable entries={host.entries} drift={host.drift} />;
}

function SelfTests({ host }: { host: HostDetail }) {
  if (host.verify.length === 0) {
    return (
      <Empty
        icon={<IconFlask size={22} />}
        title="Never verified"
        description="Verify runs each registered emulator (a foreign binary, and a foreign container where Docker is present) and records the result here."
      />
    );
  }
  return (
    <Table.ScrollContainer minWidth={800}>
      <Table verticalSpacing={8}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Target</Table.Th>
            <Table.Th>Method</Table.Th>
            <Table.Th>Result</Table.Th>
            <Table.Th>Output</Table.Th>
            <Table.Th ta="right">Time</Table.Th>
            <Table.Th>When</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {host.verify.map((v) => (
            <Table.Tr key={v.id}>
              <Table.Td ff="monospace" fz="sm" fw={600}>
                {v.target}
              </Table.Td>
              <Table.Td fz="sm">{v.method}</Table.Td>
              <Table.Td>
                <Badge
                  size="sm"
                  variant="light"
                  color={v.status === 'passed' ? 'teal' : v.status === 'failed' ? 'red' : 'gray'}
                >
                  {v.status}
                </Badge>
              </Table.Td>
              <Table.Td maw={420}>
                <Code fz="xs" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
                  {v.output || '(no output)'}
                </Code>
              </Table.Td>
              <Table.Td ta="right" fz="sm" style={{ whiteSpace: 'nowrap' }}>
                {formatDuration(v.durationMs)}
              </Table.Td>
              <Table.Td>
                <Ago date={v.at} size="sm" />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function Interpreters({ host }: { host: HostDetail }) {
  const list = factsOf(host.facts).interpreters;
  if (list.length === 0) {
    return (
      <Empty
        icon={<IconCpu size={22} />}
        title="No QEMU emulator found"
        description="The agent found no qemu-*-static in its interpreter directory. Install qemu-user-static on the host."
      />
    );
  }
  return (
    <Table verticalSpacing={6} fz="sm">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Target</Table.Th>
          <Table.Th>Path</Table.Th>
          <Table.Th>QEMU version</Table.Th>
          <Table.Th>Package</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {list.map((i) => (
          <Table.Tr key={i.path}>
            <Table.Td ff="monospace" fw={600}>
              {i.target}
            </Table.Td>
            <Table.Td ff="monospace" fz="xs">
              {i.path}
            </Table.Td>
            <Table.Td>
              {i.version ?? (
                <Text span size="sm" c="red">
                  {i.error ?? 'unknown'}
                </Text>
              )}
            </Table.Td>
            <Table.Td fz="xs" c="dimmed">
              {i.package ?? '—'}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function HostJobs({ host }: { host: HostDetail }) {
  if (host.jobs.length === 0)
    return <Empty icon={<IconListCheck size={22} />} title="No job ran on this host yet" />;
  return (
    <Table verticalSpacing={8} highlightOnHover>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Job</Table.Th>
          <Table.Th>Status here</Table.Th>
          <Table.Th>Error</Table.Th>
          <Table.Th>Created</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {host.jobs.map((j) => (
          <Table.Tr key={j.jobId}>
            <Table.Td>
              <Anchor component={Link} href={`/jobs/${j.jobId}`} size="sm" fw={500}>
                {j.kind}
              </Anchor>
            </Table.Td>
            <Table.Td>
              <RunStatusBadge status={j.status} size="sm" />
            </Table.Td>
            <Table.Td maw={480}>
              <Text size="sm" c={j.error ? 'red.8' : 'dimmed'}>
                {j.error ?? '—'}
              </Text>
            </Table.Td>
            <Table.Td>
              <Ago date={j.createdAt} size="sm" />
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function HostAudit({ hostname }: { hostname: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const input = { host: hostname, limit: 20 };
  const audit = useCursorPages(trpc.audit.list.queryKey(input), (cursor) =>
    client.audit.list.query({ ...input, ...(cursor ? { cursor } : {}) }),
  );
  if (audit.isPending) return <TableSkeleton rows={5} columns={5} />;
  if (audit.isError)
    return (
      <ErrorState
        title="Could not load the audit trail"
        error={audit.error}
        onRetry={() => void audit.refetch()}
      />
    );
  return (
    <Stack>
      <AuditTable events={audit.data.pages.flatMap((p) => p.items)} compact />
      {audit.hasNextPage && (
        <Button
          variant="default"
          onClick={() => void audit.fetchNextPage()}
          loading={audit.isFetchingNextPage}
          w="fit-content"
          mx="auto"
        >
          Load older events
        </Button>
      )}
    </Stack>
  );
}

function HostMenu({ host }: { host: HostDetail }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [confirm, setConfirm] = useState(false);
  const remove = useMutation(
    trpc.fleet.removeHost.mutationOptions({
      onSuccess: async () => {
        notifications.show({ color: 'teal', message: `${host.hostname} was removed from the fleet.` });
        await queryClient.invalidateQueries({ queryKey: trpc.fleet.pathKey() });
        router.push('/fleet');
      },
    }),
  );
  return (
    <>
      <Menu position="bottom-end">
        <Menu.Target>
          <ActionIcon variant="default" size="lg" aria-label="More host actions">
            <IconDots size={18} />
          </ActionIcon>
        </Menu.Target>
        <Menu.Dropdown>
          <Menu.Item color="red" leftSection={<IconTrash size={16} />} onClick={() => setConfirm(true)}>
            Remove from fleet…
          </Menu.Item>
        </Menu.Dropdown>
      </Menu>
      <Modal opened={confirm} onClose={() => setConfirm(false)} title={`Remove ${host.hostname}?`} centered>
        <Stack>
          <Text size="sm">
            The host, its snapshots and self-test results leave binfleet; its kernel entries stay as they are.
            An agent still running there joins again only with a new join token.
          </Text>
          {remove.isError && (
            <Alert color="red" variant="light">
              {errorMessage(remove.error)}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirm(false)}>
              Keep it
            </Button>
            <Button color="red" loading={remove.isPending} onClick={() => remove.mutate({ id: host.id })}>
              Remove host
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

export function HostSkeleton() {
  return <Skeleton height={400} />;
}
