'use client';
import { kernelFlags, type TargetId } from '@binfleet/arch-table';
import {
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  SimpleGrid,
  Stack,
  Switch,
  Text,
  TextInput,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconTrash } from '@tabler/icons-react';
import { useDebouncedValue } from '@mantine/hooks';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { usePlan } from '../actions/plan-preview.tsx';
import { TargetPicker } from '../actions/target-picker.tsx';
import { useTRPC } from '../trpc/client.ts';
import type { RouterOutputs } from '../trpc/types.ts';
import { ConfirmModal } from '../ui/confirm-modal.tsx';
import { MutationError } from '../ui/mutation-error.tsx';
import { Ago } from '../ui/time.tsx';
import { FLAG_INFO } from './flags.ts';
import { lintPolicy, type LintContext } from './lint.ts';
import { healCount, healLine, PolicyDryRun } from './policy-dry-run.tsx';
import { PolicyLint } from './policy-lint.tsx';

export type PolicyRow = RouterOutputs['policy']['list'][number];

interface Draft {
  targets: TargetId[];
  flags: string;
  interpreterDir: string;
  suffix: string;
  autoHeal: boolean;
}

const NEW_POLICY: Draft = {
  targets: [],
  flags: 'F',
  interpreterDir: '/usr/bin',
  suffix: '-static',
  autoHeal: false,
};

/** One policy (fleet or a group), editable by admins, read-only for everyone else. */
export function PolicyCard({
  groupName,
  policy,
  editable,
  drift,
  lintContext,
  onRemoved,
}: {
  groupName: string | null;
  policy: PolicyRow | null;
  editable: boolean;
  drift?: { hosts: number; drifted: number } | undefined;
  /** The fleet's machines and foreign entries, for the lint shown before save. */
  lintContext?: LintContext | undefined;
  onRemoved?: () => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const initial: Draft = policy
    ? {
        targets: [...policy.targets],
        flags: policy.flags,
        interpreterDir: policy.interpreterDir,
        suffix: policy.suffix,
        autoHeal: policy.autoHeal,
      }
    : NEW_POLICY;
  const [draft, setDraft] = useState<Draft>(initial);
  const dirty = JSON.stringify(draft) !== JSON.stringify(initial);
  // The draft's dry run, once typing pauses: only for admins with something to save.
  const [settled] = useDebouncedValue(draft, 400);
  const dryRun = editable && (dirty || !policy);
  const plan = usePlan(dryRun ? { kind: 'policy', draft: { groupName, ...settled } } : null);
  const [confirm, setConfirm] = useState<'heal' | 'remove' | null>(null);
  const healing = draft.autoHeal && plan.data && healCount(plan.data) > 0 ? plan.data : null;
  // With auto-heal, save waits for the dry run of what is on screen: the confirm must name the right hosts.
  const planBehind =
    dryRun &&
    draft.autoHeal &&
    !plan.isError &&
    (JSON.stringify(settled) !== JSON.stringify(draft) || !plan.data || plan.isPlaceholderData);
  const scope = groupName ? `group ${groupName}` : 'fleet';
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.policy.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.fleet.pathKey() }),
    ]);
  const save = useMutation(
    trpc.policy.set.mutationOptions({
      onSuccess: async () => {
        setConfirm(null);
        notifications.show({
          color: 'teal',
          message: `${groupName ? `Group ${groupName}` : 'Fleet'} policy saved; drift is recomputed with it.`,
        });
        await refresh();
      },
    }),
  );
  const remove = useMutation(
    trpc.policy.remove.mutationOptions({
      onSuccess: async () => {
        setConfirm(null);
        notifications.show({
          color: 'teal',
          message: groupName ? `Group ${groupName} now follows the fleet policy.` : 'Fleet policy removed.',
        });
        await refresh();
        onRemoved?.();
      },
    }),
  );
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));
  const toggleFlag = (flag: string, on: boolean) => {
    const next = on ? draft.flags + flag : draft.flags.replaceAll(flag, '');
    // C implies O in the kernel; show it the way it will be stored.
    set({ flags: kernelFlags(flag === 'O' && !on ? next.replaceAll('C', '') : next) });
  };
  const error = save.error ?? remove.error;
  const findings = lintPolicy(draft, lintContext);

  return (
    <Card>
      <Group justify="space-between" align="flex-start" mb="md">
        <div>
          <Group gap="xs">
            <Text fw={650} size="lg">
              {groupName ? `Group ${groupName}` : 'Fleet policy'}
            </Text>
            {policy?.autoHeal && (
              <Badge color="teal" variant="light">
                auto-heal
              </Badge>
            )}
            {!policy && <Badge variant="default">not saved yet</Badge>}
          </Group>
          <Text size="xs" c="dimmed">
            {groupName
              ? `Applies to hosts in group ${groupName}, instead of the fleet policy.`
              : 'Applies to every host whose group has no policy of its own.'}
            {policy && (
              <>
                {' '}
                Updated <Ago date={policy.updatedAt} size="xs" />.
              </>
            )}
          </Text>
        </div>
        {drift && (
          <Stack gap={0} align="flex-end">
            <Text fw={700} c={drift.drifted ? 'orange' : 'teal'}>
              {drift.drifted ? `${drift.drifted.toLocaleString()} drifted` : 'no drift'}
            </Text>
            <Text size="xs" c="dimmed">
              of {drift.hosts.toLocaleString()} host{drift.hosts === 1 ? '' : 's'}
            </Text>
          </Stack>
        )}
      </Group>
      <Stack gap="md">
        <TargetPicker
          label="Targets"
          description="Empty: what each host needs (every target outside its own CPU family, like qemu-binfmt-conf.sh)."
          placeholder="What each host needs"
          value={draft.targets}
          onChange={(targets) => set({ targets })}
          disabled={!editable}
        />
        <div>
          <Text size="sm" fw={500}>
            Flags
          </Text>
          <SimpleGrid cols={{ base: 1, md: 2 }} spacing="sm" verticalSpacing="sm" mt={6}>
            {FLAG_INFO.map((f) => (
              <Checkbox
                key={f.flag}
                checked={draft.flags.includes(f.flag)}
                disabled={!editable || (f.flag === 'O' && draft.flags.includes('C'))}
                onChange={(e) => toggleFlag(f.flag, e.currentTarget.checked)}
                color={f.flag === 'C' ? 'red' : undefined}
                label={
                  <Text size="sm" fw={600} ff="monospace" span>
                    {f.flag}{' '}
                    <Text span ff="var(--mantine-font-family)" fw={500} size="sm">
                      · {f.name}
                    </Text>
                  </Text>
                }
                description={
                  <>
                    {f.explanation}
                    {f.risk && (
                      <Text span size="xs" c="var(--mantine-color-red-text)" fw={600}>
                        {' '}
                        {f.risk}
                      </Text>
                    )}
                  </>
                }
              />
            ))}
          </SimpleGrid>
        </div>
        <Group grow align="flex-start">
          <TextInput
            label="Interpreter directory"
            styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
            value={draft.interpreterDir}
            onChange={(e) => set({ interpreterDir: e.currentTarget.value })}
            disabled={!editable}
          />
          <TextInput
            label="Suffix"
            styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
            value={draft.suffix}
            onChange={(e) => set({ suffix: e.currentTarget.value })}
            disabled={!editable}
          />
        </Group>
        <Text size="xs" c="dimmed" ff="monospace">
          e.g. {draft.interpreterDir.replace(/\/+$/, '')}/qemu-aarch64{draft.suffix}
        </Text>
        <Switch
          label="Auto-heal"
          description="When a host drifts from this policy (a reboot, someone's manual change), queue a reset + register with it."
          checked={draft.autoHeal}
          onChange={(e) => set({ autoHeal: e.currentTarget.checked })}
          disabled={!editable}
        />
        <PolicyLint findings={findings} />
        {dryRun && (
          <PolicyDryRun plan={plan.data} error={plan.isError ? plan.error : null} autoHeal={draft.autoHeal} />
        )}
        <MutationError error={error} title="Not saved" />
        {editable && (
          <Group justify="space-between">
            {policy ? (
              <Button
                variant="subtle"
                color="red"
                leftSection={<IconTrash size={16} />}
                loading={remove.isPending}
                onClick={() => setConfirm('remove')}
              >
                {groupName ? 'Remove group policy' : 'Remove fleet policy'}
              </Button>
            ) : (
              <span />
            )}
            <Group gap="xs">
              {dirty && policy && (
                <Button variant="default" onClick={() => setDraft(initial)}>
                  Discard changes
                </Button>
              )}
              <Button
                disabled={policy !== null && !dirty}
                loading={save.isPending || planBehind}
                onClick={() => (healing ? setConfirm('heal') : save.mutate({ groupName, ...draft }))}
              >
                {policy ? 'Save policy' : 'Create policy'}
              </Button>
            </Group>
          </Group>
        )}
      </Stack>
      <ConfirmModal
        opened={confirm === 'heal' && healing !== null}
        onClose={() => setConfirm(null)}
        title={`Save the ${scope} policy and heal?`}
        error={save.error}
        cancelLabel="Not yet"
        confirmLabel="Save and queue resets"
        confirmColor="red"
        loading={save.isPending}
        onConfirm={() => save.mutate({ groupName, ...draft })}
      >
        {healing &&
          `With auto-heal on, saving queues a reset + register with this policy on ${healLine(healing)}: each
          removes every qemu-* entry on the host and registers the policy's.`}
      </ConfirmModal>
      <ConfirmModal
        opened={confirm === 'remove'}
        onClose={() => setConfirm(null)}
        title={`Remove the ${scope} policy?`}
        error={remove.error}
        confirmLabel={groupName ? 'Remove group policy' : 'Remove fleet policy'}
        confirmColor="red"
        loading={remove.isPending}
        onConfirm={() => remove.mutate({ groupName })}
      >
        {groupName
          ? `The ${drift ? `${drift.hosts.toLocaleString()} ` : ''}hosts of group ${groupName} follow the fleet policy from then on (none, if there is no fleet policy). No kernel entry changes.`
          : 'Hosts without a group policy of their own are then governed by no policy: their drift is no longer computed and auto-heal stops for them. No kernel entry changes.'}
      </ConfirmModal>
    </Card>
  );
}
