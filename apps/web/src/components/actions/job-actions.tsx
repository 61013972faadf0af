'use client';
import { Button, Group, Menu } from '@mantine/core';
import {
  IconArrowUpCircle,
  IconChevronDown,
  IconCircleCheck,
  IconPlus,
  IconRefresh,
  IconToggleLeft,
  IconToggleRight,
  IconTrash,
} from '@tabler/icons-react';
import { useState } from 'react';
import type { OperatorJobKind } from '~/shared/job-kinds.ts';
import { useCan } from '../auth/session.tsx';
import { JobActionModal, type HostSelection } from './job-action-modal.tsx';
import { UpgradeAgentModal } from './upgrade-agent-modal.tsx';

/** The actions a job can run, for one host or a selection. Rendered only for operators and admins. */
export function JobActionButtons({
  selection,
  size = 'sm',
}: {
  selection: HostSelection;
  size?: 'xs' | 'sm';
}) {
  const [kind, setKind] = useState<OperatorJobKind | 'upgrade-agent' | null>(null);
  const isAdmin = useCan('admin');
  const iconSize = size === 'xs' ? 14 : 16;
  return (
    <>
      <Group gap="xs" wrap="wrap">
        <Button
          size={size}
          variant="default"
          leftSection={<IconCircleCheck size={iconSize} />}
          onClick={() => setKind('verify')}
        >
          Verify
        </Button>
        <Button
          size={size}
          leftSection={<IconRefresh size={iconSize} />}
          onClick={() => setKind('reset-register')}
        >
          Reset + register
        </Button>
        <Menu position="top-end" withinPortal>
          <Menu.Target>
            <Button size={size} variant="default" rightSection={<IconChevronDown size={iconSize} />}>
              More
            </Button>
          </Menu.Target>
          <Menu.Dropdown>
            <Menu.Item leftSection={<IconPlus size={16} />} onClick={() => setKind('register')}>
              Register targets…
            </Menu.Item>
            <Menu.Item leftSection={<IconToggleRight size={16} />} onClick={() => setKind('enable')}>
              Enable targets…
            </Menu.Item>
            <Menu.Item leftSection={<IconToggleLeft size={16} />} onClick={() => setKind('disable')}>
              Disable targets…
            </Menu.Item>
            {isAdmin && (
              <Menu.Item
                leftSection={<IconArrowUpCircle size={16} />}
                onClick={() => setKind('upgrade-agent')}
              >
                Upgrade agent…
              </Menu.Item>
            )}
            <Menu.Divider />
            <Menu.Item color="red" leftSection={<IconTrash size={16} />} onClick={() => setKind('remove')}>
              Remove registrations…
            </Menu.Item>
          </Menu.Dropdown>
        </Menu>
      </Group>
      {kind === 'upgrade-agent' ? (
        <UpgradeAgentModal selection={selection} onClose={() => setKind(null)} />
      ) : (
        kind && <JobActionModal key={kind} kind={kind} selection={selection} onClose={() => setKind(null)} />
      )}
    </>
  );
}
