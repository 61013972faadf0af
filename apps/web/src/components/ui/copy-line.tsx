'use client';
import { ActionIcon, Code, CopyButton, Group, Tooltip } from '@mantine/core';
import { IconCheck, IconCopy } from '@tabler/icons-react';

/**
 * A command to paste into a shell, with a copy button. On one line, cut with an ellipsis; `wrap`
 * shows it whole over several lines, where the end of the line is what tells rows apart (a tag).
 */
export function CopyLine({
  text,
  label = 'Copy',
  testId,
  wrap = false,
}: {
  text: string;
  label?: string;
  testId?: string;
  wrap?: boolean;
}) {
  return (
    <Group gap={4} wrap="nowrap" style={{ minWidth: 0 }}>
      <Code
        data-testid={testId}
        style={
          wrap
            ? { whiteSpace: 'normal', overflowWrap: 'anywhere', minWidth: 0 }
            : { whiteSpace: 'nowrap', overflow: 'hidden', textOverflow: 'ellipsis', minWidth: 0 }
        }
        title={text}
      >
        {text}
      </Code>
      <CopyIcon value={text} label={label} />
    </Group>
  );
}

/** A small copy button beside a value: a tick for a moment once copied. */
export function CopyIcon({ value, label = 'Copy' }: { value: string; label?: string }) {
  return (
    <CopyButton value={value} timeout={1500}>
      {({ copied, copy }) => (
        <Tooltip label={copied ? 'Copied' : label} withArrow>
          <ActionIcon
            variant="subtle"
            color={copied ? 'teal' : 'gray'}
            onClick={copy}
            aria-label={label}
            size="sm"
          >
            {copied ? <IconCheck size={14} /> : <IconCopy size={14} />}
          </ActionIcon>
        </Tooltip>
      )}
    </CopyButton>
  );
}

/** A digest shortened to what people compare (sha256:0123456789ab), whole on hover. */
export function shortDigest(digest: string): string {
  return digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1');
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
