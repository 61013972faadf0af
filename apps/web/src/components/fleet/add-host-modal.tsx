'use client';
import {
  Alert,
  Anchor,
  Button,
  Code,
  Group,
  Modal,
  Radio,
  Stack,
  Tabs,
  Text,
  TextInput,
} from '@mantine/core';
import { IconAlertTriangle, IconPlus, IconServer2 } from '@tabler/icons-react';
import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '../trpc/client.ts';
import { CopyLine } from '../ui/copy-line.tsx';
import { MutationError } from '../ui/mutation-error.tsx';

const formatTime = (d: Date | string) =>
  new Date(d).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

/** "Add host" on the fleet page: a one-time install code and the one line that uses it. */
export function AddHostButton({ variant = 'filled' }: { variant?: 'filled' | 'light' }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button variant={variant} leftSection={<IconPlus size={16} />} onClick={() => setOpen(true)}>
        Add host
      </Button>
      {open && <AddHostModal onClose={() => setOpen(false)} />}
    </>
  );
}

function AddHostModal({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const [label, setLabel] = useState('');
  const [transport, setTransport] = useState<'dial-out' | 'direct'>('dial-out');
  const create = useMutation(trpc.install.createCode.mutationOptions());
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({
      label: label || 'host',
      expiresInMinutes: 15,
      browserOrigin: window.location.origin,
      transport,
    });
  };
  const created = create.data;
  const dialOut = created?.transport === 'dial-out' ? ' --dial-out' : '';
  return (
    <Modal opened onClose={onClose} title="Add a host" centered size={created ? 'xl' : 'md'}>
      {created ? (
        <Stack>
          {created.warnings.map((w) => (
            <Alert
              key={w}
              color="yellow"
              variant="light"
              icon={<IconAlertTriangle size={18} />}
              title="Other hosts may not reach this address"
            >
              {w}{' '}
              <Anchor component={Link} href="/settings?tab=general" size="sm">
                Set the public URL
              </Anchor>
            </Alert>
          ))}
          {'problem' in created.release && (
            <Alert
              color="red"
              variant="light"
              icon={<IconAlertTriangle size={18} />}
              title="No agent release to install"
            >
              {created.release.problem}
            </Alert>
          )}
          <Tabs defaultValue="line">
            <Tabs.List mb="sm">
              <Tabs.Tab value="line">Install line</Tabs.Tab>
              <Tabs.Tab value="systemd">Debian package</Tabs.Tab>
              <Tabs.Tab value="container">Container</Tabs.Tab>
            </Tabs.List>
            <Tabs.Panel value="line">
              <Stack gap="xs">
                <Text size="sm">
                  On the host, as a user who may sudo (Debian, Ubuntu, or any Linux with Node.js ≥ 18):
                </Text>
                <CopyLine text={created.line} label="Copy the install line" testId="install-line" wrap />
                <Text size="sm" c="dimmed">
                  The code works once, until {formatTime(created.expiresAt)}. The script checks the system and
                  every download&apos;s sha256, trades the code for the host&apos;s own credential (a 0600
                  file, never on a command line), installs{' '}
                  {'version' in created.release ? `binfleet-agent ${created.release.version}` : 'the agent'}{' '}
                  and starts it; the host appears on the fleet page when it has joined. Add{' '}
                  <Code>--dry-run</Code> to only check, <Code>--help</Code> for options.
                </Text>
              </Stack>
            </Tabs.Panel>
            <Tabs.Panel value="systemd">
              <Stack gap="xs">
                <Text size="sm">
                  The same as the line, by hand (the line picks this route where apt-get exists):
                </Text>
                <CopyLine
                  text={`curl -fsSL ${created.publicUrl}/agent/install.sh -o install.sh && less install.sh`}
                  wrap
                />
                <CopyLine text={`sudo sh install.sh --method deb --code ${created.code}${dialOut}`} wrap />
                <Text size="sm" c="dimmed">
                  It installs binfleet-agent_*.deb with apt-get (Node.js comes from Debian), writes
                  /etc/binfleet-agent/agent.env and the credential, and enables binfleet-agent.service. Logs:{' '}
                  <Code>journalctl -u binfleet-agent</Code>. Remove: <Code>binfleet-agent-uninstall</Code>.
                </Text>
              </Stack>
            </Tabs.Panel>
            <Tabs.Panel value="container">
              <Stack gap="xs">
                <Text size="sm">
                  Load the image from this control plane, put the code&apos;s credential in a file, and run it
                  (registering emulators needs CAP_SYS_ADMIN in the host&apos;s namespace):
                </Text>
                <CopyLine
                  text={`curl -fsSL ${created.publicUrl}/agent/files/binfleet-agent-${'version' in created.release ? created.release.version : 'VERSION'}-image.tar | docker load`}
                  wrap
                />
                <CopyLine
                  text={`printf '{"code":"%s"}' ${created.code} | curl -fsS -H 'content-type: application/json' --data-binary @- ${created.publicUrl}/agent/exchange | sudo install -D -m 0600 /dev/stdin /etc/binfleet-agent/join-token`}
                  wrap
                />
                <CopyLine
                  text={`docker run -d --name binfleet-agent --restart unless-stopped --network host --privileged -v /proc/sys/fs/binfmt_misc:/proc/sys/fs/binfmt_misc -v /etc/binfleet-agent:/etc/binfleet-agent -v binfleet-agent:/var/lib/binfleet-agent binfleet/agent:${'version' in created.release ? created.release.version : 'VERSION'} serve --server ${created.publicUrl} --join-token-file /etc/binfleet-agent/join-token${dialOut}`}
                  wrap
                />
                <Text size="sm" c="dimmed">
                  Where --privileged is refused, use{' '}
                  <Code>--cap-add SYS_ADMIN --security-opt apparmor=unconfined</Code>.
                </Text>
              </Stack>
            </Tabs.Panel>
          </Tabs>
          <Group justify="space-between">
            <Button variant="default" onClick={() => create.reset()} leftSection={<IconServer2 size={16} />}>
              Another host
            </Button>
            <Button onClick={onClose}>Done</Button>
          </Group>
        </Stack>
      ) : (
        <form onSubmit={submit}>
          <Stack>
            <Text size="sm" c="dimmed">
              binfleet makes a one-time code (valid 15 minutes) and the line that installs the agent with it.
              For many hosts at once (images, CI runners), create a join token in Settings instead.
            </Text>
            <TextInput
              label="Label"
              description="For the audit log, e.g. the host's name"
              value={label}
              maxLength={64}
              onChange={(e) => setLabel(e.currentTarget.value)}
              data-autofocus
            />
            <Radio.Group
              label="How the control plane reaches the host"
              value={transport}
              onChange={(v) => setTransport(v as 'dial-out' | 'direct')}
            >
              <Stack gap={6} mt={6}>
                <Radio
                  value="dial-out"
                  label="The agent dials out"
                  description="No inbound port: the agent holds one connection to this control plane (behind NAT or a firewall)"
                />
                <Radio
                  value="direct"
                  label="The control plane calls the agent"
                  description="The agent listens on port 7475, which this control plane must reach"
                />
              </Stack>
            </Radio.Group>
            <MutationError error={create.error} />
            <Group justify="flex-end">
              <Button variant="default" onClick={onClose}>
                Cancel
              </Button>
              <Button type="submit" loading={create.isPending}>
                Make the install line
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
