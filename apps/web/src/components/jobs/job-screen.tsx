'use client';
import type { RunStatus } from '@binfleet/db';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Pagination,
  SegmentedControl,
  Stack,
  Table,
  Text,
  Tooltip,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconBan, IconRepeat } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import Link from 'next/link';
import { useParams, useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { describeJob } from '~/shared/job-kinds.ts';
import { isFinished } from '~/shared/run-status.ts';
import { useCan } from '../auth/session.tsx';
import { PageHeader } from '../shell/page-header.tsx';
import { usePageTitle } from '../shell/page-title.ts';
import { PageError } from '../ui/page-error.tsx';
import { errorMessage, httpStatusOf, useTRPC } from '../trpc/client.ts';
import type { JobDetail } from '../trpc/types.ts';
import { RunStatusBadge } from '../ui/badges.tsx';
import { ConfirmModal } from '../ui/confirm-modal.tsx';
import { Crumbs } from '../ui/crumbs.tsx';
import { PageSkeleton } from '../ui/states.tsx';
import { Ago, formatDateTime, formatDuration, useNow } from '../ui/time.tsx';
import { CountsLine, finishedShare, JobProgressBar } from './job-progress.tsx';

const PAGE = 50;
const JOBS = { href: '/jobs', label: 'Jobs' };

export function JobScreen() {
  const { id } = useParams<{ id: string }>();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const job = useQuery(trpc.jobs.get.queryOptions({ id }));
  const open = job.data !== undefined && !isFinished(job.data.status);
  const finished = job.data !== undefined && isFinished(job.data.status);
  // A finished job changed its hosts' entries or self-tests: the fleet and host views cached before
  // it ran must not be shown as they are when the user goes there next.
  useEffect(() => {
    if (finished) void queryClient.invalidateQueries({ queryKey: trpc.fleet.pathKey() });
  }, [finished, queryClient, trpc]);
  // Live progress over SSE while the job is open; each event is the whole job as the database has it.
  const live = useSubscription(
    trpc.jobs.watch.subscriptionOptions(
      { id },
      {
        enabled: open,
        onData: (event) => queryClient.setQueryData(trpc.jobs.get.queryKey({ id }), event.data),
      },
    ),
  );

  usePageTitle(job.data?.summary, 'Job');

  if (job.isPending) return <PageSkeleton />;
  if (job.isError) {
    return (
      <PageError
        crumbs={<Crumbs parent={JOBS} label={id} />}
        title={httpStatusOf(job.error) === 404 ? 'Job not found' : 'Could not load this job'}
        error={job.error}
        onRetry={() => void job.refetch()}
      />
    );
  }
  const j = job.data;
  return (
    <Stack gap="lg">
      <div>
        <Crumbs parent={JOBS} label={j.summary} />
        <PageHeader
          title={j.summary}
          badges={<RunStatusBadge status={j.status} size="lg" data-testid="job-status" />}
          description={
            <>
              Started by {j.createdBy} · <Ago date={j.createdAt} size="sm" /> ({formatDateTime(j.createdAt)})
            </>
          }
          actions={<JobButtons job={j} />}
        />
      </div>
      {j.cancelRequestedAt && !isFinished(j.status) && (
        <Alert color="yellow" variant="light" icon={<IconBan size={18} />}>
          Cancel requested <Ago date={j.cancelRequestedAt} size="sm" />: hosts not started yet are skipped;
          hosts already running finish their current call.
        </Alert>
      )}
      <ProgressCard job={j} open={open} liveStatus={live.status} liveError={live.error} />
      <HostRows job={j} />
    </Stack>
  );
}

function ProgressCard({
  job,
  open,
  liveStatus,
  liveError,
}: {
  job: JobDetail;
  open: boolean;
  liveStatus: string;
  liveError: unknown;
}) {
  const now = useNow(1000);
  const share = finishedShare(job.counts);
  const start = job.startedAt ?? job.createdAt;
  const elapsed = (job.finishedAt?.getTime() ?? now) - start.getTime();
  return (
    <Card>
      <Group justify="space-between" mb="sm" align="flex-end">
        <div>
          <Text fz={28} fw={700} lh={1}>
            {Math.round(share * 100)}%
          </Text>
          <Text size="sm" c="dimmed">
            {(job.counts.succeeded + job.counts.failed + job.counts.cancelled).toLocaleString()} of{' '}
            {job.counts.total.toLocaleString()} host
            {job.counts.total === 1 ? '' : 's'} done
          </Text>
        </div>
        <Stack gap={2} align="flex-end">
          <Text size="sm">
            {job.finishedAt
              ? `Took ${formatDuration(elapsed)}`
              : job.startedAt
                ? `Running for ${formatDuration(elapsed)}`
                : 'Waiting for a runner'}
          </Text>
          {open && (
            <Tooltip label="Progress arrives live from the server (server-sent events)">
              <Badge
                variant="dot"
                color={liveStatus === 'error' ? 'red' : liveStatus === 'pending' ? 'teal' : 'gray'}
              >
                {liveStatus === 'error'
                  ? 'live updates lost'
                  : liveStatus === 'pending'
                    ? 'live'
                    : 'connecting…'}
              </Badge>
            </Tooltip>
          )}
        </Stack>
      </Group>
      <JobProgressBar counts={job.counts} size="xl" />
      <Group mt="sm" justify="space-between">
        <CountsLine counts={job.counts} />
      </Group>
      {liveStatus === 'error' && (
        <Text size="xs" c="red" mt="xs">
          {errorMessage(liveError)} Reload the page to reconnect.
        </Text>
      )}
    </Card>
  );
}

function JobButtons({ job }: { job: JobDetail }) {
  const canAct = useCan('operator');
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [confirm, setConfirm] = useState<'cancel' | 'retry' | null>(null);
  const cancel = useMutation(
    trpc.jobs.cancel.mutationOptions({
      onSuccess: async () => {
        setConfirm(null);
        notifications.show({ color: 'yellow', message: 'Cancel requested.' });
        await queryClient.invalidateQueries({ queryKey: trpc.jobs.pathKey() });
      },
    }),
  );
  const failed = job.targets.filter((t) => t.status === 'failed');
  const retry = useMutation(
    trpc.jobs.create.mutationOptions({
      onSuccess: (created) => {
        setConfirm(null);
        router.push(`/jobs/${created.id}`);
      },
    }),
  );
  if (!canAct) return null;
  const open = !isFinished(job.status);
  const pending = cancel.isPending || retry.isPending;
  const error = cancel.error ?? retry.error;
  return (
    <>
      {/* An upgrade is started again from the fleet or host page (admins only). */}
      {failed.length > 0 && !open && job.params.kind !== 'upgrade-agent' && (
        <Button
          variant="default"
          leftSection={<IconRepeat size={16} />}
          onClick={() =>
            failed.length > 1
              ? setConfirm('retry')
              : retry.mutate({ params: job.params, selection: { hostIds: [failed[0]!.hostId] } })
          }
          loading={retry.isPending && confirm === null}
        >
          Run again on {failed.length} failed host{failed.length === 1 ? '' : 's'}
        </Button>
      )}
      {open && (
        <Button
          color="red"
          variant="light"
          leftSection={<IconBan size={16} />}
          onClick={() => setConfirm('cancel')}
          disabled={Boolean(job.cancelRequestedAt)}
        >
          Cancel job
        </Button>
      )}
      <ConfirmModal
        opened={confirm !== null}
        onClose={() => setConfirm(null)}
        title={confirm === 'cancel' ? 'Cancel this job?' : `Run again on ${failed.length} hosts?`}
        error={error}
        cancelLabel="Back"
        cancelDisabled={pending}
        confirmLabel={confirm === 'cancel' ? 'Cancel job' : `Run on ${failed.length} hosts`}
        confirmColor={confirm === 'cancel' ? 'red' : undefined}
        loading={confirm === 'cancel' ? cancel.isPending : retry.isPending}
        onConfirm={() =>
          confirm === 'cancel'
            ? cancel.mutate({ id: job.id })
            : retry.mutate({ params: job.params, selection: { hostIds: failed.map((t) => t.hostId) } })
        }
      >
        {confirm === 'cancel'
          ? `${job.counts.queued.toLocaleString()} host(s) not started yet will be skipped; ${job.counts.running.toLocaleString()} running now finish their current call. Results so far are kept.`
          : `A new job runs “${describeJob(job.params)}” on the ${failed.length} hosts that failed here.`}
      </ConfirmModal>
    </>
  );
}

const HOST_FILTERS = ['all', 'failed', 'running', 'queued', 'succeeded', 'cancelled'] as const;

function HostRows({ job }: { job: JobDetail }) {
  const [filter, setFilter] = useState<(typeof HOST_FILTERS)[number]>('all');
  const [page, setPage] = useState(1);
  const rows = filter === 'all' ? job.targets : job.targets.filter((t) => t.status === filter);
  // Failures first: they are what the operator came for.
  const order: Record<RunStatus, number> = { failed: 0, running: 1, queued: 2, cancelled: 3, succeeded: 4 };
  const sorted = [...rows].sort(
    (a, b) => order[a.status] - order[b.status] || a.hostname.localeCompare(b.hostname),
  );
  const pages = Math.max(1, Math.ceil(sorted.length / PAGE));
  const shown = sorted.slice((Math.min(page, pages) - 1) * PAGE, Math.min(page, pages) * PAGE);
  return (
    <Card padding={0}>
      <Group p="md" pb="sm" justify="space-between">
        <Text fw={650}>Hosts</Text>
        <SegmentedControl
          size="xs"
          style={{ maxWidth: '100%', overflowX: 'auto' }}
          value={filter}
          onChange={(v) => {
            setFilter(v as typeof filter);
            setPage(1);
          }}
          data={HOST_FILTERS.map((f) => ({
            value: f,
            label: f === 'all' ? `All ${job.counts.total}` : `${f} ${job.counts[f]}`,
          }))}
        />
      </Group>
      {shown.length === 0 ? (
        <Text size="sm" c="dimmed" p="md" pt={0}>
          No host is {filter} in this job.
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={800}>
          <Table verticalSpacing={8} highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Host</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th ta="right">Attempts</Table.Th>
                <Table.Th ta="right">Took</Table.Th>
                <Table.Th>What happened</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {shown.map((t) => (
                <Table.Tr key={t.id}>
                  <Table.Td>
                    <Anchor component={Link} href={`/hosts/${t.hostId}`} size="sm" ff="monospace" fw={500}>
                      {t.hostname}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <RunStatusBadge status={t.status} size="sm" />
                  </Table.Td>
                  <Table.Td ta="right">
                    <Text size="sm" c={t.attempts > 1 ? 'orange' : undefined}>
                      {t.attempts}
                    </Text>
                  </Table.Td>
                  <Table.Td ta="right">
                    <Text size="sm" c="dimmed">
                      {t.startedAt && t.finishedAt
                        ? formatDuration(t.finishedAt.getTime() - t.startedAt.getTime())
                        : '—'}
                    </Text>
                  </Table.Td>
                  <Table.Td maw={560}>
                    <Text size="sm" c={t.status === 'failed' ? 'red' : t.error ? 'orange' : 'dimmed'}>
                      {t.error
                        ? t.status === 'queued'
                          ? `Will retry: ${t.error}`
                          : t.error
                        : outcomeText(t.status)}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {pages > 1 && (
        <Group justify="flex-end" p="md">
          <Pagination size="sm" total={pages} value={Math.min(page, pages)} onChange={setPage} />
        </Group>
      )}
    </Card>
  );
}

function outcomeText(status: RunStatus): string {
  switch (status) {
    case 'succeeded':
      return 'Done; entries read back from the kernel.';
    case 'running':
      return 'Running on the host now…';
    case 'queued':
      return 'Waiting for a free runner slot.';
    case 'cancelled':
      return 'Cancelled before it ran here.';
    case 'failed':
      return 'Failed.';
  }
}
