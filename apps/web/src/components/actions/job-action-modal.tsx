'use client';
import { Alert, Button, Group, List, Modal, SegmentedControl, Stack, Switch, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconAlertTriangle, IconPlayerPlay } from '@tabler/icons-react';
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { describeJob, type JobParams, type OperatorJobKind } from '~/shared/job-kinds.ts';
import { useTRPC } from '../trpc/client.ts';
import { MutationError } from '../ui/mutation-error.tsx';
import { FlagSwitches } from './flag-switches.tsx';
import { flagsOf, INITIAL_JOB_FORM, paramsOf, type JobForm } from './job-form.ts';
import { TargetPicker } from './target-picker.tsx';

export interface HostSelection {
  readonly hostIds: readonly string[];
  /** Hostnames known for (some of) the selected hosts, to name them in the confirmation. */
  readonly names: readonly string[];
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
 * Parameters, then (for more than one host) a confirmation naming how many hosts it will run on;
 * the new job's page opens once it is queued.
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
  const router = useRouter();
  const [form, setForm] = useState<JobForm>(INITIAL_JOB_FORM);
  const [confirming, setConfirming] = useState(false);
  const create = useMutation(
    trpc.jobs.create.mutationOptions({
      onSuccess: (job) => {
        notifications.show({
          color: 'teal',
          title: 'Job queued',
          message: `${describeJob(params as JobParams)} on ${job.hosts} host${job.hosts === 1 ? '' : 's'}.`,
        });
        onClose();
        router.push(`/jobs/${job.id}`);
      },
    }),
  );
  const params = paramsOf(kind, form);
  const invalid = typeof params === 'string' ? params : null;
  const count = selection.hostIds.length;
  const set = (patch: Partial<JobForm>) => setForm((f) => ({ ...f, ...patch }));
  const run = () =>
    create.mutate({ params: params as JobParams, selection: { hostIds: [...selection.hostIds] } });
  const hasFlags = kind === 'register' || (kind === 'reset-register' && !form.usePolicy);
  const destructive = DESTRUCTIVE.includes(kind);
  const target = count === 1 ? (selection.names[0] ?? '1 host') : `${count.toLocaleString()} hosts`;

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
                onClick={() => (count > 1 ? setConfirming(true) : run())}
              >
                {count > 1 ? 'Review…' : 'Run now'}
              </Button>
            </Group>
          </Group>
        </Stack>
      ) : (
        <Stack gap="md">
          <Alert
            color={destructive ? 'red' : 'indigo'}
            variant="light"
            icon={<IconAlertTriangle size={18} />}
            title={`This runs on ${count.toLocaleString()} hosts`}
          >
            <Text size="sm" fw={600}>
              {describeJob(params as JobParams)}
            </Text>
            {flagsOf(params as JobParams) && <Text size="sm">Flags: {flagsOf(params as JobParams)}</Text>}
            <Text size="sm" mt={4}>
              Each host runs it once; offline hosts fail with the reason. You can cancel while it runs.
            </Text>
          </Alert>
          {form.credential && flagsOf(params as JobParams) && (
            <Alert color="red" variant="outline" icon={<IconAlertTriangle size={18} />} py="xs">
              With C, setuid foreign binaries gain real privileges on these {count.toLocaleString()} hosts.
            </Alert>
          )}
          {selection.names.length > 0 && (
            <div>
              <Text size="sm" fw={600} mb={4}>
                Hosts
              </Text>
              <List size="sm" spacing={2} ff="monospace">
                {selection.names.slice(0, 6).map((n) => (
                  <List.Item key={n}>{n}</List.Item>
                ))}
              </List>
              {count > Math.min(6, selection.names.length) && (
                <Text size="sm" c="dimmed" mt={4}>
                  and {(count - Math.min(6, selection.names.length)).toLocaleString()} more
                </Text>
              )}
            </div>
          )}
          <MutationError error={create.error} title="The job was not created" />
          <Group justify="flex-end" gap="xs">
            <Button variant="default" onClick={() => setConfirming(false)} disabled={create.isPending}>
              Back
            </Button>
            <Button
              color={destructive ? 'red' : undefined}
              loading={create.isPending}
              leftSection={<IconPlayerPlay size={16} />}
              onClick={run}
            >
              Run on {count.toLocaleString()} hosts
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
