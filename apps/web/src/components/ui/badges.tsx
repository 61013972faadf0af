'use client';
import { Badge, Text, type BadgeProps } from '@mantine/core';
import type { AuditOutcome, Role, RunStatus } from '@binfleet/db';

export function OnlineBadge({ online, ...props }: { online: boolean } & BadgeProps) {
  return (
    <Badge variant="dot" color={online ? 'teal' : 'gray'} {...props}>
      {online ? 'online' : 'offline'}
    </Badge>
  );
}

export const RUN_STATUS_COLOR: Record<RunStatus, string> = {
  queued: 'gray',
  running: 'blue',
  succeeded: 'teal',
  failed: 'red',
  cancelled: 'yellow',
};

export function RunStatusBadge({ status, ...props }: { status: RunStatus } & BadgeProps) {
  return (
    <Badge variant="light" color={RUN_STATUS_COLOR[status]} {...props}>
      {status}
    </Badge>
  );
}

const OUTCOME_COLOR: Record<AuditOutcome, string> = { success: 'teal', failure: 'red', denied: 'orange' };

export function OutcomeBadge({ outcome }: { outcome: AuditOutcome }) {
  return (
    <Badge variant="light" color={OUTCOME_COLOR[outcome]} size="sm">
      {outcome}
    </Badge>
  );
}

const ROLE_COLOR: Record<Role, string> = { viewer: 'gray', operator: 'blue', admin: 'grape' };

export function RoleBadge({ role, ...props }: { role: Role } & BadgeProps) {
  return (
    <Badge variant="light" color={ROLE_COLOR[role]} {...props}>
      {role}
    </Badge>
  );
}

/** Drift of one host; null means no policy applies, which is neither good nor bad news. */
export function DriftBadge({ drift }: { drift: number | null }) {
  return drift === null ? (
    <Badge variant="outline" color="gray" size="sm">
      no policy
    </Badge>
  ) : drift === 0 ? (
    <Badge variant="light" color="teal" size="sm">
      in policy
    </Badge>
  ) : (
    <Badge variant="light" color="orange" size="sm">
      {drift} drifted
    </Badge>
  );
}

/** A host group's name, or a dimmed "no group" for hosts outside every group. */
export function GroupName({ group }: { group: string | null }) {
  return group ? (
    <Badge variant="default">{group}</Badge>
  ) : (
    <Text size="sm" c="dimmed">
      no group
    </Text>
  );
}
