'use client';
import { Alert, Button, Group, Skeleton, Stack, Switch, Text } from '@mantine/core';
import { IconAlertTriangle, IconPlayerPlay } from '@tabler/icons-react';
import { useState } from 'react';
import { describeJob, type JobParams } from '~/shared/job-kinds.ts';
import { MutationError } from '../ui/mutation-error.tsx';
import type { HostSelection } from './job-action-modal.tsx';
import { flagsOf } from './job-form.ts';
import { BecomeDrifted, HostChanges, PlanError, PlanSplit, PlanTable, usePlan } from './plan-preview.tsx';

/**
 * The look before a job runs: what it is, the selection split into online / offline / already in
 * policy (with "exclude offline"), the hosts it would make drifted, and per host what changes.
 */
export function JobReview({
  params,
  selection,
  destructive,
  error,
  pending,
  onBack,
  onRun,
}: {
  params: JobParams;
  selection: HostSelection;
  destructive: boolean;
  error: unknown;
  pending: boolean;
  onBack: () => void;
  onRun: (hostIds: string[]) => void;
}) {
  const plan = usePlan({ kind: 'action', params, hostIds: [...selection.hostIds] });
  const [excludeOffline, setExcludeOffline] = useState(false);
  const offline = new Set(plan.data?.offlineIds ?? []);
  const count = selection.hostIds.length;
  const runIds = excludeOffline ? selection.hostIds.filter((id) => !offline.has(id)) : [...selection.hostIds];
  const single = count === 1 ? plan.data?.hosts[0] : undefined;
  const where = count === 1 ? (selection.names[0] ?? '1 host') : `${count.toLocaleString()} hosts`;
  const flags = flagsOf(params);

  return (
    <Stack gap="md">
      <Alert
        color={destructive ? 'red' : 'indigo'}
        variant="light"
        icon={<IconAlertTriangle size={18} />}
        title={`This runs on ${where}`}
      >
        <Text size="sm" fw={600}>
          {describeJob(params)}
        </Text>
        {flags && <Text size="sm">Flags: {flags}</Text>}
        <Text size="sm" mt={4}>
          {count === 1
            ? 'From the entries it last reported; if it is offline the job fails with the reason.'
            : 'Each host runs it once; offline hosts fail with the reason. You can cancel while it runs.'}
        </Text>
      </Alert>
      {flags && 'credential' in params && params.credential && (
        <Alert color="red" variant="outline" icon={<IconAlertTriangle size={18} />} py="xs">
          With C, setuid foreign binaries gain real privileges on{' '}
          {count === 1 ? 'this host' : `these ${where}`}.
        </Alert>
      )}
      {plan.isError ? (
        <PlanError error={plan.error} />
      ) : !plan.data ? (
        <Stack gap="xs" aria-busy="true" aria-label="Working out what would change">
          <Skeleton height={48} />
          <Skeleton height={120} />
        </Stack>
      ) : (
        <>
          {count > 1 && <PlanSplit plan={plan.data} />}
          <BecomeDrifted plan={plan.data} what="This" />
          {single ? (
            <div>
              <Text size="sm" fw={600} mb={4}>
                What changes on {single.hostname}
              </Text>
              <HostChanges host={single} />
            </div>
          ) : (
            <PlanTable plan={plan.data} excluded={excludeOffline ? offline : undefined} />
          )}
          {offline.size > 0 && offline.size < count && (
            <Switch
              label={`Exclude offline hosts (${offline.size.toLocaleString()})`}
              description="They would fail now; run it on them when they are back."
              checked={excludeOffline}
              onChange={(e) => setExcludeOffline(e.currentTarget.checked)}
            />
          )}
          {count > 1 && offline.size === count && (
            <Text size="sm" c="var(--mantine-color-orange-text)">
              Every selected host is offline: each row of the job fails until they report again.
            </Text>
          )}
        </>
      )}
      <MutationError error={error} title="The job was not created" />
      <Group justify="flex-end" gap="xs">
        <Button variant="default" onClick={onBack} disabled={pending}>
          Back
        </Button>
        <Button
          color={destructive ? 'red' : undefined}
          loading={pending}
          leftSection={<IconPlayerPlay size={16} />}
          onClick={() => onRun(runIds)}
        >
          {count === 1
            ? 'Run now'
            : `Run on ${runIds.length.toLocaleString()} host${runIds.length === 1 ? '' : 's'}`}
        </Button>
      </Group>
    </Stack>
  );
}
