'use client';
import type { RunStatus } from '@binfleet/db';
import { Badge, Group, Loader, Text, ThemeIcon, Timeline } from '@mantine/core';
import { IconBan, IconCheck, IconCircleDashed, IconX } from '@tabler/icons-react';
import type { BuildDetail } from '../trpc/types.ts';
import { RUN_STATUS_COLOR } from '../ui/badges.tsx';
import { formatDuration, useNow } from '../ui/time.tsx';

const STEP_ICON: Record<RunStatus, typeof IconCheck> = {
  queued: IconCircleDashed,
  running: IconCircleDashed,
  succeeded: IconCheck,
  failed: IconX,
  cancelled: IconBan,
};

/** The builder's steps as a timeline: each one's status, time and last log line. */
export function Steps({ build }: { build: BuildDetail }) {
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
