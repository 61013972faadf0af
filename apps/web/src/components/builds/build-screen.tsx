'use client';
import type { RunStatus } from '@binfleet/db';
import {
  Anchor,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Loader,
  ScrollArea,
  SimpleGrid,
  Stack,
  Table,
  Text,
  ThemeIcon,
  Timeline,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconBan, IconCheck, IconCircleDashed, IconRepeat, IconX } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import Link from 'next/link';
import { useParams, useRouter } from 'next/navigation';
import { useEffect, useRef } from 'react';
import { useCan } from '../auth/session.tsx';
import { PageHeader } from '../shell/page-header.tsx';
import { errorMessage, httpStatusOf, useTRPC } from '../trpc/client.ts';
import type { RouterOutputs } from '../trpc/types.ts';
import { RUN_STATUS_COLOR, RunStatusBadge } from '../ui/badges.tsx';
import { CopyLine, shortDigest } from '../ui/copy-line.tsx';
import { Crumbs } from '../ui/crumbs.tsx';
import { ErrorState, PageSkeleton } from '../ui/states.tsx';
import { Ago, formatDateTime, formatDuration, useNow } from '../ui/time.tsx';

type BuildDetail = RouterOutputs['builds']['get'];
type Check = {
  name: string;
  status: 'pass' | 'fail' | 'skipped';
  detail: string;
  output?: string;
  durationMs: number;
};
type PushedTag = { tag: string; reference: string; digest: string; platform: string };

const FINAL: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];
const BUILDS = { href: '/builds', label: 'Builds' };

export function BuildScreen() {
  const { id } = useParams<{ id: string }>();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const build = useQuery(trpc.builds.get.queryOptions({ id }));
  const open = build.data !== undefined && !FINAL.includes(build.data.status);
  const finished = build.data !== undefined && FINAL.includes(build.data.status);
  useEffect(() => {
    if (finished) void queryClient.invalidateQueries({ queryKey: trpc.catalogue.pathKey() });
  }, [finished, queryClient, trpc]);
  // The live log: each event is the whole build as the database has it, mirrored from the builder.
  useSubscription(
    trpc.builds.watch.subscriptionOptions(
      { id },
      {
        enabled: open,
        onData: (event) => queryClient.setQueryData(trpc.builds.get.queryKey({ id }), event.data),
      },
    ),
  );

  if (build.isPending) return <PageSkeleton />;
  if (build.isError) {
    return (
      <Stack>
        <Crumbs parent={BUILDS} label={id} />
        <ErrorState
          title={httpStatusOf(build.error) === 404 ? 'Build not found' : 'Could not load this build'}
          error={build.error}
          onRetry={() => void build.refetch()}
        />
      </Stack>
    );
  }
  const b = build.data;
  const title = `${b.packageName}${b.packageVersion ? ` ${b.packageVersion}` : ''}`;
  return (
    <Stack gap="lg">
      <div>
        <Crumbs parent={BUILDS} label={title} />
        <PageHeader
          title={title}
          badges={<RunStatusBadge status={b.status} size="lg" data-testid="build-status" />}
          description={
            <>
              On {b.builder?.hostname ?? 'a removed host'} for{' '}
              {b.repository?.reference ?? 'a removed repository'} · by {b.triggeredBy ?? 'someone removed'} ·{' '}
              <Ago date={b.createdAt} size="sm" /> ({formatDateTime(b.createdAt)})
            </>
          }
          actions={<BuildButtons build={b} />}
        />
      </div>
      {b.error && (
        <Card withBorder style={{ borderColor: 'var(--mantine-color-red-3)' }}>
          <Text size="sm" c="red.8" data-testid="build-error">
            {b.error}
          </Text>
        </Card>
      )}
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        <PackageCard build={b} />
        <Card style={{ gridColumn: 'span 2' }}>
          <Text fw={600} mb="sm">
            Steps
          </Text>
          <Steps build={b} />
        </Card>
      </SimpleGrid>
      <LogCard build={b} />
      <ChecksCard checks={(b.checks ?? []) as Check[]} />
      <TagsCard build={b} tags={(b.pushedTags ?? []) as PushedTag[]} />
    </Stack>
  );
}

function BuildButtons({ build }: { build: BuildDetail }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const isAdmin = useCan('admin');
  const refresh = () => void queryClient.invalidateQueries({ queryKey: trpc.builds.pathKey() });
  const onError = (title: string) => (error: unknown) =>
    notifications.show({ color: 'red', title, message: errorMessage(error) });
  const cancel = useMutation(
    trpc.builds.cancel.mutationOptions({ onSuccess: refresh, onError: onError('Could not cancel') }),
  );
  const rerun = useMutation(
    trpc.builds.rerun.mutationOptions({
      onSuccess: ({ id }) => {
        refresh();
        router.push(`/builds/${id}`);
      },
      onError: onError('Could not re-run'),
    }),
  );
  if (!isAdmin) return null;
  return FINAL.includes(build.status) ? (
    <Button
      variant="default"
      leftSection={<IconRepeat size={16} />}
      loading={rerun.isPending}
      onClick={() => rerun.mutate({ id: build.id })}
    >
      Re-run
    </Button>
  ) : (
    <Button
      color="red"
      variant="light"
      leftSection={<IconBan size={16} />}
      loading={cancel.isPending}
      onClick={() => cancel.mutate({ id: build.id })}
    >
      Cancel build
    </Button>
  );
}

function PackageCard({ build }: { build: BuildDetail }) {
  const rows: [string, string][] = [
    // A deleted upload leaves neither its link nor a path; the facts below stay on the build.
    build.packageId || !build.packagePath
      ? ['Uploaded package', build.uploadedFilename ?? '(upload deleted)']
      : ['Package file', build.packagePath],
    ['Version', build.packageVersion || '…'],
    ['Architecture', build.packageArch || '…'],
    ['QEMU', build.qemuVersion || '…'],
    ['sha256', build.packageSha256 || '…'],
  ];
  const options = build.options;
  return (
    <Card>
      <Text fw={600} mb="sm">
        Input
      </Text>
      <Stack gap={6}>
        {rows.map(([label, value]) => (
          <div key={label}>
            <Text size="xs" c="dimmed">
              {label}
            </Text>
            <Text
              size="sm"
              ff={label === 'sha256' || label === 'Package file' ? 'monospace' : undefined}
              style={{ wordBreak: 'break-all' }}
            >
              {value}
            </Text>
          </div>
        ))}
        <Text size="xs" c="dimmed">
          {options.targets?.length
            ? `Emulators: ${options.targets.join(', ')}`
            : 'Every emulator in the package'}
          {options.testImage && ` · test image ${options.testImage}`}
          {options.skipChecks && ' · checks skipped'}
        </Text>
      </Stack>
    </Card>
  );
}

const STEP_ICON: Record<RunStatus, typeof IconCheck> = {
  queued: IconCircleDashed,
  running: IconCircleDashed,
  succeeded: IconCheck,
  failed: IconX,
  cancelled: IconBan,
};

function Steps({ build }: { build: BuildDetail }) {
  const now = useNow(1000);
  if (build.steps.length === 0) {
    return (
      <Group gap="xs">
        {build.status === 'queued' ? <Loader size="xs" /> : null}
        <Text size="sm" c="dimmed">
          {build.status === 'queued' ? 'Waiting for the builder…' : 'The builder reported no step.'}
        </Text>
      </Group>
    );
  }
  return (
    <Timeline
      bulletSize={22}
      lineWidth={2}
      active={build.steps.filter((s) => s.status !== 'queued').length - 1}
    >
      {build.steps.map((s) => {
        const Icon = STEP_ICON[s.status];
        const took =
          s.durationMs ?? (s.startedAt && s.status === 'running' ? now - s.startedAt.getTime() : null);
        return (
          <Timeline.Item
            key={s.position}
            data-testid={`step-${s.name}`}
            bullet={
              s.status === 'running' ? (
                <Loader size={12} color="blue" />
              ) : (
                <ThemeIcon
                  size={22}
                  radius="xl"
                  color={RUN_STATUS_COLOR[s.status]}
                  variant={s.status === 'queued' ? 'light' : 'filled'}
                >
                  <Icon size={13} />
                </ThemeIcon>
              )
            }
            title={
              <Group gap="xs">
                <Text size="sm" fw={600}>
                  {s.name}
                </Text>
                <Badge size="xs" variant="light" color={RUN_STATUS_COLOR[s.status]}>
                  {s.status}
                </Badge>
                {took !== null && (
                  <Text size="xs" c="dimmed">
                    {formatDuration(took)}
                  </Text>
                )}
              </Group>
            }
          >
            <Text size="xs" c="dimmed" lineClamp={1}>
              {s.log.trim().split('\n').at(-1)}
            </Text>
          </Timeline.Item>
        );
      })}
    </Timeline>
  );
}

function LogCard({ build }: { build: BuildDetail }) {
  const viewport = useRef<HTMLDivElement>(null);
  const text = build.steps.map((s) => `==> ${s.name} (${s.status})\n${s.log}`).join('');
  const live = !FINAL.includes(build.status);
  // Follow the end while the build runs, as a terminal does.
  useEffect(() => {
    if (live) viewport.current?.scrollTo({ top: viewport.current.scrollHeight });
  }, [text, live]);
  return (
    <Card padding={0}>
      <Group p="md" pb="xs" justify="space-between">
        <Text fw={600}>Log</Text>
        {live && (
          <Badge variant="dot" color="blue">
            live
          </Badge>
        )}
      </Group>
      <ScrollArea h={360} viewportRef={viewport} type="auto">
        <Code block data-testid="build-log" style={{ whiteSpace: 'pre-wrap', fontSize: 12, minHeight: 360 }}>
          {text || 'No output yet.'}
        </Code>
      </ScrollArea>
    </Card>
  );
}

function ChecksCard({ checks }: { checks: readonly Check[] }) {
  if (checks.length === 0) return null;
  const COLOR = { pass: 'teal', fail: 'red', skipped: 'gray' } as const;
  return (
    <Card padding={0}>
      <Text fw={600} p="md" pb="xs">
        The seed&apos;s checks
      </Text>
      <Table verticalSpacing={8}>
        <Table.Tbody>
          {checks.map((c) => (
            <Table.Tr key={c.name}>
              <Table.Td w={90}>
                <Badge color={COLOR[c.status]} variant="light">
                  {c.status}
                </Badge>
              </Table.Td>
              <Table.Td>
                <Text size="sm" fw={600}>
                  {c.name}
                </Text>
                <Text size="xs" c="dimmed">
                  {c.detail}
                </Text>
              </Table.Td>
              <Table.Td w={90} ta="right">
                <Text size="xs" c="dimmed">
                  {formatDuration(c.durationMs)}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}

function TagsCard({ build, tags }: { build: BuildDetail; tags: readonly PushedTag[] }) {
  if (tags.length === 0) return null;
  return (
    <Card padding={0}>
      <Group p="md" pb="xs" justify="space-between">
        <Text fw={600}>Pushed tags ({tags.length})</Text>
        {build.repository && (
          <Anchor component={Link} href="/catalogue" size="sm">
            Open the catalogue
          </Anchor>
        )}
      </Group>
      <ScrollArea.Autosize mah={440} type="auto">
        <Table verticalSpacing={6} miw={800} stickyHeader>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Tag</Table.Th>
              <Table.Th>Digest</Table.Th>
              <Table.Th>Pull</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {tags.map((t) => (
              <Table.Tr key={t.tag}>
                <Table.Td>
                  <Text size="sm" ff="monospace">
                    {t.tag}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="xs" ff="monospace" title={t.digest}>
                    {shortDigest(t.digest)}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <CopyLine text={`docker pull ${t.reference}`} label="Copy the pull command" />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea.Autosize>
    </Card>
  );
}
