'use client';
import type { LintFinding } from '@binfleet/arch-table';
import { Alert, List, Text } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';

const TITLE = {
  CREDENTIAL: 'Credential flag',
  NATIVE: 'Native',
  NATIVE_FAMILY: 'Native',
  OVERLAP: 'Overlap',
};

export function PolicyLint({ findings }: { findings: readonly LintFinding[] }) {
  if (findings.length === 0) return null;
  return (
    <Alert
      variant="light"
      color="orange"
      icon={<IconAlertTriangle size={18} />}
      title="Check before you save"
      data-testid="policy-lint"
    >
      <List size="sm" spacing={4}>
        {findings.map((f) => (
          <List.Item key={`${f.code}-${f.target ?? ''}-${f.other ?? ''}`}>
            <Text span fw={600} size="sm">
              {TITLE[f.code]}:
            </Text>{' '}
            {f.message}
          </List.Item>
        ))}
      </List>
    </Alert>
  );
}
