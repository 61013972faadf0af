'use client';
import { Button, Group, Modal, SegmentedControl, Stack, Switch, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlayerPlay } from '@tabler/icons-react';
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { describeJob, type JobParams, type OperatorJobKind } from '~/shared/job-kinds.ts';
import { useTRPC } from '../trpc/client.ts';
import { MutationError } from '../ui/mutation-error.tsx';
import { FlagSwitches } from './flag-switches.tsx';
import { INITIAL_JOB_FORM, paramsOf, type JobForm } from './job-form.ts';
import { JobReview } from './job-review.tsx';
import { TargetPicker } from './target-picker.tsx';

export interface HostSelection {
  readonly hostIds: readonly string[];
  /** Hostnames known for (some of) the selected hosts, to name them in the confirmation. */
  readonly names: readonly string[];
}

/** The selection in the words of a title: the host's name, or how many hosts. */
export const selectionLabel = (selection: HostSelection) =>
  selection.hostIds.length === 1
    ? (selection.names[0] ?? '1 host')
    : `${selection.hostIds.length.toLocaleString()} hosts`;

/** What a queued job says before its page opens. */
export function useJobQueued(onClose: () => void) {
  const router = useRouter();
  return (job: { id: string; hosts: number }, what: string) => {
    notifications.show({
      color: 'teal',
      title: 'Job queued',
      message: `${what} on ${job.hosts} host${job.hosts === 1 ? '' : 's'}.`,
    });
    onClose();
    router.push(`/jobs/${job.id}`);
  };
}

const DESTRUCTIVE: readonly OperatorJobKind[] = ['reset-register', 'remove', 'disable'];

const TITLES: Record<OperatorJobKind, string> = {
  'reset-register': 'Reset and register',
  register: 'Register targets',
  remove: 'Remove registrations',
  enable: 'Enable targets',
  disable: 'Disable targets',
  verify: 'Verify emulation',
};

/**
 * Parameters, then (for more than one host, or an action that removes or switches off entries) the
 * review: the server's dry run of what changes on each host; the new job's page opens once it is queued.
 */
export function JobActionModal({
  kind,
  selection,
  onClose,
}: {
  kind: OperatorJobKind;
  selection: HostSelection;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const queued = useJobQueued(onClose);
  const [form, setForm] = useState<JobForm>(INITIAL_JOB_FORM);
  const [confirming, setConfirming] = useState(false);
  const create = useMutation(
    trpc.jobs.create.mutationOptions({
      onSuccess: (job) => queued(job, describeJob(params as JobParams)),
    }),
  );
  const params = paramsOf(kind, form);
  const invalid = typeof params === 'string' ? params : null;
  const count = selection.hostIds.length;
  const set = (patch: Partial<JobForm>) => setForm((f) => ({ ...f, ...patch }));
  const run = (hostIds: readonly string[] = selection.hostIds) =>
    create.mutate({ params: params as JobParams, selection: { hostIds: [...hostIds] } });
  const hasFlags = kind === 'register' || (kind === 'reset-register' && !form.usePolicy);
  const destructive = DESTRUCTIVE.includes(kind);
  // More than one host, or anything that takes entries away: look first.
  const review = count > 1 || destructive;
  const target = selectionLabel(selection);

  return (
    <Modal
      opened
      onClose={onClose}
      title={<Text fw={650}>{`${TITLES[kind]} · ${target}`}</Text>}
      size="lg"
      centered
    >
      {!confirming ? (
        <Stack gap="md">
          {kind === 'reset-register' && (
            <>
              <Text size="sm" c="dimmed">
                Removes every qemu-* entry on the host, then registers again, like{' '}
                <code>qemu-user-static --reset -p yes</code>.
              </Text>
              <SegmentedControl
                value={form.usePolicy ? 'policy' : 'choose'}
                onChange={(v) => set({ usePolicy: v === 'policy' })}
                data={[
                  { value: 'choose', label: 'Choose targets and flags' },
                  { value: 'policy', label: "Use each host's policy" },
                ]}
              />
            </>
          )}
          {kind !== 'reset-register' || !form.usePolicy ? (
            kind === 'remove' ? (
              <>
                <Switch
                  label="Remove every qemu-* entry"
                  checked={form.removeAll}
                  onChange={(e) => set({ removeAll: e.currentTarget.checked })}
                />
                {!form.removeAll && (
                  <TargetPicker
                    label="Targets to remove"
                    value={form.targets}
                    onChange={(targets) => set({ targets })}
                  />
                )}
              </>
            ) : (
              <TargetPicker
                label="Targets"
                description={
                  kind === 'reset-register'
                    ? 'Empty: what each host needs (every target outside its own CPU family).'
                    : kind === 'verify'
                      ? 'Empty: every target registered on the host.'
                      : undefined
                }
                placeholder={
                  kind === 'reset-register' || kind === 'verify' ? 'All the host needs' : 'Pick targets'
                }
                value={form.targets}
                onChange={(targets) => set({ targets })}
              />
            )
          ) : (
            <Text size="sm">
              Targets, flags, interpreter directory and suffix come from each host&apos;s group policy, or the
              fleet policy.
            </Text>
          )}
          {hasFlags && <FlagSwitches form={form} set={set} />}
          <MutationError error={create.error} title="The job was not created" />
          <Group justify="space-between">
            <Text size="xs" c="red">
              {invalid}
            </Text>
            <Group gap="xs">
              <Button variant="default" onClick={onClose}>
                Cancel
              </Button>
              <Button
                color={destructive ? 'red' : undefined}
                disabled={invalid !== null}
                loading={create.isPending}
                leftSection={<IconPlayerPlay size={16} />}
                onClick={() => (review ? setConfirming(true) : run())}
              >
                {review ? 'Review…' : 'Run now'}
              </Button>
            </Group>
          </Group>
        </Stack>
      ) : (
        <JobReview
          params={params as JobParams}
          selection={selection}
          destructive={destructive}
          error={create.error}
          pending={create.isPending}
          onBack={() => setConfirming(false)}
          onRun={run}
        />
      )}
    </Modal>
  );
}
