'use client';
import { Badge, Card, Code, Group, ScrollArea, Text } from '@mantine/core';
import { useEffect, useRef } from 'react';
import type { BuildDetail } from '../trpc/types.ts';

/** Every step's log in one terminal-like box; `live` while the build runs. */
export function LogCard({ build, live }: { build: BuildDetail; live: boolean }) {
  const viewport = useRef<HTMLDivElement>(null);
  const text = build.steps.map((s) => `==> ${s.name} (${s.status})\n${s.log}`).join('');
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
      {/* Keyboard users scroll the log too; long tokens (digests) wrap instead of scrolling sideways. */}
      <ScrollArea
        h={360}
        viewportRef={viewport}
        type="auto"
        viewportProps={{ tabIndex: 0, 'aria-label': 'Build log' }}
      >
        <Code
          block
          data-testid="build-log"
          style={{
            whiteSpace: 'pre-wrap',
            overflowWrap: 'anywhere',
            overflow: 'visible',
            fontSize: 12,
            minHeight: 360,
          }}
        >
          {text || 'No output yet.'}
        </Code>
      </ScrollArea>
    </Card>
  );
}
