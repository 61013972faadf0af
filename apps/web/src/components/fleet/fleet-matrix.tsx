'use client';
import type { TargetId } from '@binfleet/arch-table';
import { Anchor, Checkbox, Group, ScrollArea, Text } from '@mantine/core';
import { IconCheck, IconLayoutGridRemove, IconX } from '@tabler/icons-react';
import Link from 'next/link';
import type { CSSProperties } from 'react';
import type { MatrixCell } from '~/server/services/fleet-view.ts';
import type { FleetRow } from '../trpc/types.ts';
import { Empty } from '../ui/states.tsx';
import { CELL_LOOK, CELL_STATES, matrixColumns } from './cell-states.ts';
import classes from './matrix.module.css';
import type { PageSelection } from './selection.ts';

/** Hosts × architectures: one coloured cell per registration, a check or cross for the last self-test. */
export function FleetMatrix({
  rows,
  selection,
}: {
  rows: readonly FleetRow[];
  selection: PageSelection | null;
}) {
  const columns = matrixColumns(rows);
  if (columns.length === 0)
    return (
      <Empty
        icon={<IconLayoutGridRemove size={22} />}
        title="Nothing to show in the matrix"
        description="None of these hosts has a qemu entry, and no policy wants one: set a fleet or group policy on the Policy page, or run Reset + register on the hosts (the Hosts view selects them)."
      />
    );
  return (
    <ScrollArea type="auto" offsetScrollbars="x">
      <table className={classes.matrix} aria-label="Registrations per host and architecture">
        <thead>
          <tr>
            {selection && (
              <th
                className={`${classes.hostHead} ${classes.stickyCol}`}
                style={{ width: 32, paddingLeft: 8 }}
              >
                <Checkbox
                  size="xs"
                  aria-label="Select every host on this page"
                  checked={selection.allOnPage}
                  indeterminate={selection.someOnPage}
                  onChange={selection.togglePage}
                />
              </th>
            )}
            <th className={`${classes.hostHead} ${selection ? '' : classes.stickyCol}`}>Host</th>
            {columns.map((t) => (
              <th key={t} className={classes.archHead} scope="col">
                <div>{t}</div>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id} className={classes.row} data-offline={!row.online || undefined}>
              {selection && (
                <td className={classes.stickyCol} style={{ paddingLeft: 8 }}>
                  <Checkbox
                    size="xs"
                    aria-label={`Select ${row.hostname}`}
                    checked={selection.isSelected(row.id)}
                    onChange={() => selection.toggle(row.id, row.hostname)}
                  />
                </td>
              )}
              <td className={`${classes.hostCell} ${selection ? '' : classes.stickyCol}`}>
                <Group gap={6} wrap="nowrap">
                  <span
                    title={row.online ? 'online' : 'offline'}
                    style={{
                      width: 8,
                      height: 8,
                      borderRadius: 4,
                      flex: 'none',
                      background: row.online ? 'var(--mantine-color-teal-6)' : 'var(--mantine-color-gray-4)',
                    }}
                  />
                  <Anchor
                    component={Link}
                    href={`/hosts/${row.id}`}
                    size="sm"
                    fw={500}
                    c={row.online ? undefined : 'dimmed'}
                  >
                    {row.hostname}
                  </Anchor>
                  {row.drift !== null && row.drift > 0 && (
                    <Text
                      span
                      size="xs"
                      c="var(--mantine-color-orange-text)"
                      fw={600}
                      title={`${row.drift} difference${row.drift === 1 ? '' : 's'} from the policy`}
                    >
                      {row.drift}
                    </Text>
                  )}
                </Group>
              </td>
              {columns.map((t) => (
                <td key={t} className={classes.cellWrap}>
                  <MatrixCellView target={t} cell={row.cells[t]} host={row.hostname} online={row.online} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollArea>
  );
}

function MatrixCellView({
  target,
  cell,
  host,
  online,
}: {
  target: TargetId;
  cell: MatrixCell | undefined;
  host: string;
  online: boolean;
}) {
  if (!cell)
    return <span className={classes.none} title={`${host}: qemu-${target} neither registered nor wanted`} />;
  const look = CELL_LOOK[cell.state];
  const label = `${host}: qemu-${target} ${look.label}${cell.verify ? `, last self-test ${cell.verify}` : ''}${
    online ? '' : ' (offline: as last reported)'
  }`;
  return (
    <span
      className={classes.cell}
      data-outline={look.outline || undefined}
      style={{ background: look.color, '--cell-color': look.color } as CSSProperties}
      title={label}
      role="img"
      aria-label={label}
      data-state={cell.state}
      data-verify={cell.verify}
    >
      {cell.verify === 'passed' ? (
        <IconCheck size={14} stroke={3} />
      ) : cell.verify === 'failed' ? (
        <IconX size={14} stroke={3} />
      ) : null}
    </span>
  );
}

export function MatrixLegend() {
  return (
    <Group gap="md" wrap="wrap">
      {CELL_STATES.map((state) => {
        const look = CELL_LOOK[state];
        return (
          <Group key={state} gap={6} wrap="nowrap" title={look.description}>
            <span
              className={`${classes.legendSwatch} ${classes.cell}`}
              data-outline={look.outline || undefined}
              style={
                { background: look.color, '--cell-color': look.color, width: 16, height: 16 } as CSSProperties
              }
            />
            <Text size="xs">{look.label}</Text>
          </Group>
        );
      })}
      <Group gap={6} wrap="nowrap">
        <span className={classes.legendSwatch} style={{ background: 'var(--mantine-color-gray-7)' }}>
          <IconCheck size={12} stroke={3} />
        </span>
        <Text size="xs">self-test passed</Text>
      </Group>
      <Group gap={6} wrap="nowrap">
        <span className={classes.legendSwatch} style={{ background: 'var(--mantine-color-gray-7)' }}>
          <IconX size={12} stroke={3} />
        </span>
        <Text size="xs">self-test failed</Text>
      </Group>
      <Group gap={6} wrap="nowrap">
        <span className={classes.none} />
        <Text size="xs">not wanted, not registered</Text>
      </Group>
      <Group gap={6} wrap="nowrap">
        <span
          className={`${classes.legendSwatch} ${classes.cell}`}
          style={{ background: CELL_LOOK.registered.color, opacity: 0.4, width: 16, height: 16 }}
        />
        <Text size="xs">faded: host offline, as last reported</Text>
      </Group>
    </Group>
  );
}
