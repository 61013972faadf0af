import { TARGET_IDS, type TargetId } from '@binfleet/arch-table';
import type { CellState } from '~/server/services/fleet-view.ts';
import type { FleetRow } from '../trpc/types.ts';

export interface CellLook {
  readonly label: string;
  readonly description: string;
  /** Cell fill; `outline` cells are hollow with a coloured border (nothing is registered there). */
  readonly color: string;
  readonly outline?: boolean;
}

export const CELL_LOOK: Record<CellState, CellLook> = {
  registered: {
    label: 'registered',
    description: 'enabled and as the policy wants it',
    color: 'var(--mantine-color-teal-6)',
  },
  drifted: {
    label: 'drifted',
    description: 'registered with other flags, interpreter or magic than the policy',
    color: 'var(--mantine-color-orange-5)',
  },
  disabled: {
    label: 'disabled',
    description: 'registered but switched off',
    color: 'var(--mantine-color-gray-5)',
  },
  missing: {
    label: 'missing',
    description: 'the policy wants it; not registered',
    color: 'var(--mantine-color-red-6)',
    outline: true,
  },
  extra: {
    label: 'extra',
    description: 'registered; the policy does not want it',
    color: 'var(--mantine-color-violet-5)',
  },
};

export const CELL_STATES = Object.keys(CELL_LOOK) as CellState[];

/** The architectures present in these rows' cells, most common first (arch-table order breaks ties). */
export function matrixColumns(rows: readonly FleetRow[]): TargetId[] {
  const count = new Map<TargetId, number>();
  for (const row of rows)
    for (const target of Object.keys(row.cells) as TargetId[])
      count.set(target, (count.get(target) ?? 0) + 1);
  return [...count]
    .sort((a, b) => b[1] - a[1] || TARGET_IDS.indexOf(a[0]) - TARGET_IDS.indexOf(b[0]))
    .map(([target]) => target);
}

export function cellCounts(row: FleetRow): Record<CellState, number> {
  const counts: Record<CellState, number> = { registered: 0, drifted: 0, disabled: 0, missing: 0, extra: 0 };
  for (const cell of Object.values(row.cells)) if (cell) counts[cell.state]++;
  return counts;
}
