'use client';
import { Select, type SelectProps } from '@mantine/core';
import type { RouterOutputs } from '../trpc/types.ts';

type Registries = RouterOutputs['registries']['list'];

/** Every repository of every registry as a choice, named `registry-host/repository`. */
export function repositoryOptions(registries: Registries | undefined): { value: string; label: string }[] {
  return (
    registries?.flatMap((r) =>
      r.repositories.map((repo) => ({ value: repo.id, label: `${r.host}/${repo.name}` })),
    ) ?? []
  );
}

/**
 * A repository picker that shows long names whole: the dropdown is as wide as its longest name
 * (at least the field, at most 40rem or the room left in the dialog or card the field is in, inside
 * its padding), names longer than that wrap, and the field's title holds the picked name, which the
 * field itself may cut.
 */
export function RepositorySelect({
  data,
  ...props
}: Omit<SelectProps, 'data'> & { data: { value: string; label: string }[] }) {
  return (
    <Select
      data={data}
      title={data.find((o) => o.value === props.value)?.label}
      comboboxProps={{
        width: 'max-content',
        position: 'bottom-start',
        middlewares: {
          flip: true,
          shift: true,
          size: {
            // Measured against what clips the field (a dialog, a card), not the page: the dropdown
            // is portalled, so the default boundary would let it reach past a dialog's edge.
            altBoundary: true,
            padding: 16,
            apply: ({ rects, availableWidth, elements }) => {
              Object.assign(elements.floating.style, {
                minWidth: `${rects.reference.width}px`,
                maxWidth: `${Math.min(availableWidth, 640)}px`,
              });
            },
          },
        },
      }}
      styles={{ option: { overflowWrap: 'anywhere' } }}
      {...props}
    />
  );
}
