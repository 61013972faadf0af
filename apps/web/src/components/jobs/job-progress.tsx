'use client';
import type { RunStatus } from '@binfleet/db';
import { Group, Progress, Text, Tooltip } from '@mantine/core';
import { RUN_STATUS_COLOR } from '../ui/badges.tsx';

export type Counts = Record<RunStatus, number> & { total: number };

const ORDER: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled', 'running', 'queued'];

/** One bar for a job: finished rows by outcome, then running (animated), then queued. */
export function JobProgressBar({ counts, size = 'md' }: { counts: Counts; size?: 'sm' | 'md' | 'xl' }) {
  if (counts.total === 0) return null;
  return (
    // Each section is a progressbar of its own: each says what it counts.
    <Progress.Root size={size} radius="xl">
      {ORDER.filter((s) => s !== 'queued' && counts[s] > 0).map((s) => (
        <Tooltip key={s} label={`${counts[s]} ${s}`}>
          <Progress.Section
            value={(counts[s] / counts.total) * 100}
            color={RUN_STATUS_COLOR[s]}
            aria-label={`Hosts ${s}: ${counts[s]} of ${counts.total}`}
            animated={s === 'running'}
            striped={s === 'running'}
          />
        </Tooltip>
      ))}
    </Progress.Root>
  );
}

export function CountsLine({ counts }: { counts: Counts }) {
  return (
    <Group gap="md" wrap="wrap">
      {ORDER.map((s) => (
        <Group key={s} gap={6} wrap="nowrap">
          <span
            style={{
              width: 8,
              height: 8,
              borderRadius: 4,
              background: `var(--mantine-color-${RUN_STATUS_COLOR[s]}-6)`,
              opacity: counts[s] ? 1 : 0.35,
            }}
          />
          <Text size="sm" c={counts[s] ? undefined : 'dimmed'}>
            <b>{counts[s].toLocaleString()}</b> {s}
          </Text>
        </Group>
      ))}
    </Group>
  );
}

export function finishedShare(counts: Counts): number {
  return counts.total === 0 ? 0 : (counts.succeeded + counts.failed + counts.cancelled) / counts.total;
}
