'use client';
import { Card, List, Skeleton, Stack, Text } from '@mantine/core';
import { BecomeDrifted, PlanError, type Plan } from '../actions/plan-preview.tsx';

const hosts = (n: number) => `${n.toLocaleString()} host${n === 1 ? '' : 's'}`;

/** The draft's dry run, before save: whom it governs, whom it would make drifted, what auto-heal would do. */
export function PolicyDryRun({
  plan,
  error,
  autoHeal,
}: {
  plan: Plan | undefined;
  error: unknown;
  autoHeal: boolean;
}) {
  return (
    <Card withBorder padding="sm" data-testid="policy-dry-run">
      <Text fw={600} size="sm" mb={4}>
        Dry run of this draft
      </Text>
      {error ? (
        <PlanError error={error} />
      ) : !plan ? (
        <Stack gap="xs" aria-busy="true" aria-label="Working out what the draft would change">
          <Skeleton height={16} />
          <Skeleton height={16} width="60%" />
        </Stack>
      ) : (
        <Stack gap="xs">
          <List size="sm" spacing={2}>
            <List.Item>
              Governs {hosts(plan.totals.hosts)} ({plan.totals.offline.toLocaleString()} offline).
            </List.Item>
            <List.Item>
              {plan.totals.becomeDrifted === 0
                ? 'No host in policy now would become drifted.'
                : `${hosts(plan.totals.becomeDrifted)} in policy now would become drifted (named below).`}
            </List.Item>
            {plan.totals.backInPolicy > 0 && (
              <List.Item>{hosts(plan.totals.backInPolicy)} drifted now would be in policy.</List.Item>
            )}
            {autoHeal && (
              <List.Item>
                {healCount(plan) === 0
                  ? 'Auto-heal would queue no reset: no governed host differs from the draft.'
                  : `Auto-heal would queue a reset on ${healLine(plan)}.`}
              </List.Item>
            )}
          </List>
          <BecomeDrifted plan={plan} what="This draft" />
        </Stack>
      )}
    </Card>
  );
}

export const healCount = (plan: Plan) => plan.totals.autoHealOnline + plan.totals.autoHealOffline;

/** "12 hosts at their next heartbeat (and 3 offline ones when they are back)". */
export function healLine(plan: Plan): string {
  const { autoHealOnline: online, autoHealOffline: offline } = plan.totals;
  const now = `${hosts(online)} at ${online === 1 ? 'its' : 'their'} next heartbeat`;
  if (offline === 0) return now;
  const later = `${offline.toLocaleString()} offline host${offline === 1 ? '' : 's'} when ${offline === 1 ? 'it is' : 'they are'} back`;
  return online === 0 ? later : `${now}, and on ${later}`;
}
