'use client';
import { Table, VisuallyHidden } from '@mantine/core';

/** The header of a table's last column of row buttons: named for screen readers, empty to the eye. */
export function ActionsHeader({ w = 50 }: { w?: number }) {
  return (
    <Table.Th w={w}>
      <VisuallyHidden>Actions</VisuallyHidden>
    </Table.Th>
  );
}
