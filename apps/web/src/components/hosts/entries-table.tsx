'use client';
import type { KernelEntry } from '@binfleet/arch-table';
import { Badge, Group, Stack, Table, Text, Tooltip } from '@mantine/core';
import { IconTable } from '@tabler/icons-react';
import type { Drift } from '~/server/services/policy.ts';
import { flagTitle } from '../policy/flags.ts';
import type { HostDetail } from '../trpc/types.ts';
import { Empty } from '../ui/states.tsx';

type Field = 'flags' | 'interpreter' | 'magic' | 'enabled';

const FIELD_OF: Partial<Record<Drift['kind'], Field>> = {
  'wrong-flags': 'flags',
  'wrong-interpreter': 'interpreter',
  'wrong-magic': 'magic',
  disabled: 'enabled',
};

const ROW_TONE: Record<string, string> = {
  drift: 'var(--mantine-color-orange-light)',
  extra: 'var(--mantine-color-violet-light)',
  missing: 'var(--mantine-color-red-light)',
};

/**
 * The kernel's entries as the agent read them, field by field, with the policy's differences marked
 * on the entry and the field they concern; entries the policy wants but the kernel lacks and entries that differ come first.
 */
function EntriesTable({ entries, drift }: { entries: readonly KernelEntry[]; drift: readonly Drift[] }) {
  const driftOf = (name: string) => drift.filter((d) => `qemu-${d.target}` === name);
  const missing = drift.filter((d) => d.kind === 'missing');
  // Differences first: they are what the page is opened for.
  const sorted = [...entries].sort(
    (a, b) =>
      Number(driftOf(b.name).length > 0) - Number(driftOf(a.name).length > 0) || a.name.localeCompare(b.name),
  );
  return (
    <Table.ScrollContainer minWidth={1000}>
      <Table verticalSpacing={6} fz="xs" ff="monospace" withColumnBorders={false}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>State</Table.Th>
            <Table.Th>Flags</Table.Th>
            <Table.Th>Interpreter</Table.Th>
            <Table.Th>Offset</Table.Th>
            <Table.Th>Magic</Table.Th>
            <Table.Th>Mask</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {missing.map((d) => (
            <Table.Tr key={`missing-${d.target}`} bg={ROW_TONE.missing} data-drift>
              <Table.Td>
                <Stack gap={2}>
                  <Text fz="xs" ff="monospace" fw={600} c="var(--mantine-color-red-text)">
                    qemu-{d.target}
                  </Text>
                  <Text fz={11} c="var(--mantine-color-red-text)" ff="var(--mantine-font-family)">
                    {d.detail}; the policy wants it
                  </Text>
                </Stack>
              </Table.Td>
              <Table.Td>
                <Text fz="xs" fw={600} c="var(--mantine-color-red-text)" ff="var(--mantine-font-family)">
                  missing
                </Text>
              </Table.Td>
              <Table.Td colSpan={5}>
                <Text fz="xs" c="dimmed" ff="var(--mantine-font-family)">
                  Not in the kernel. Reset + register (or Register) adds it.
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
          {sorted.map((e) => {
            const diffs = driftOf(e.name);
            const fields = new Set(diffs.map((d) => FIELD_OF[d.kind]).filter(Boolean));
            const extra = diffs.some((d) => d.kind === 'extra');
            const tone = extra ? ROW_TONE.extra : diffs.length > 0 ? ROW_TONE.drift : undefined;
            return (
              <Table.Tr key={e.name} bg={tone} data-drift={diffs.length > 0 || undefined}>
                <Table.Td style={{ verticalAlign: 'top' }}>
                  <Stack gap={2}>
                    <Text fz="xs" ff="monospace" fw={600}>
                      {e.name}
                    </Text>
                    {diffs.map((d) => (
                      <Text
                        key={d.kind}
                        fz={11}
                        c={d.kind === 'extra' ? 'violet' : 'orange'}
                        ff="var(--mantine-font-family)"
                      >
                        {d.detail}
                      </Text>
                    ))}
                  </Stack>
                </Table.Td>
                <Table.Td style={{ verticalAlign: 'top', whiteSpace: 'nowrap' }}>
                  <Text
                    fz="xs"
                    fw={e.enabled ? 400 : 700}
                    ff="var(--mantine-font-family)"
                    c={fields.has('enabled') ? 'orange' : e.enabled ? 'gray' : 'dimmed'}
                  >
                    {e.enabled ? 'enabled' : 'disabled'}
                  </Text>
                </Table.Td>
                <Table.Td style={{ verticalAlign: 'top' }}>
                  <Flags flags={e.flags} drifted={fields.has('flags')} />
                </Table.Td>
                <Table.Td style={{ verticalAlign: 'top', whiteSpace: 'nowrap' }}>
                  <Marked on={fields.has('interpreter')}>{e.interpreter}</Marked>
                </Table.Td>
                <Table.Td style={{ verticalAlign: 'top' }}>{e.type === 'M' ? e.offset : '—'}</Table.Td>
                <Table.Td style={{ verticalAlign: 'top', wordBreak: 'break-all' }} maw={300}>
                  <Marked on={fields.has('magic')}>
                    {e.type === 'M' ? e.magic : `extension .${e.extension}`}
                  </Marked>
                </Table.Td>
                <Table.Td style={{ verticalAlign: 'top', wordBreak: 'break-all' }} maw={300}>
                  <Marked on={fields.has('magic')}>{e.type === 'M' ? (e.mask ?? '—') : '—'}</Marked>
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function Flags({ flags, drifted }: { flags: string; drifted: boolean }) {
  return (
    <Group
      gap={3}
      wrap="nowrap"
      style={
        drifted
          ? {
              outline: '2px solid var(--mantine-color-orange-5)',
              outlineOffset: 2,
              borderRadius: 4,
              width: 'fit-content',
            }
          : undefined
      }
    >
      {flags === '' ? (
        <Text fz="xs" c="dimmed">
          none
        </Text>
      ) : (
        [...flags].map((f) => (
          <Tooltip key={f} label={flagTitle(f)} multiline w={300}>
            <Badge size="xs" radius="sm" variant="light" color={f === 'C' ? 'red' : 'indigo'} ff="monospace">
              {f}
            </Badge>
          </Tooltip>
        ))
      )}
    </Group>
  );
}

function Marked({ on, children }: { on: boolean; children: React.ReactNode }) {
  return on ? (
    <Text
      span
      fz="xs"
      ff="monospace"
      px={3}
      style={{ background: 'var(--mantine-color-orange-light-hover)', borderRadius: 3 }}
    >
      {children}
    </Text>
  ) : (
    <>{children}</>
  );
}

/** The Kernel entries tab: the table, or what to do when the kernel has none. */
export function EntriesPanel({ host }: { host: HostDetail }) {
  if (host.entries.length === 0 && host.drift.length === 0) {
    return (
      <Empty
        icon={<IconTable size={22} />}
        title="No binfmt_misc entries"
        description="The kernel has no registration on this host. Reset + register adds what it needs."
      />
    );
  }
  return <EntriesTable entries={host.entries} drift={host.drift} />;
}
