'use client';
import { dockerPlatformOf, type TargetId } from '@binfleet/arch-table';
import { MultiSelect, type MultiSelectProps } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '../trpc/client.ts';

/** QEMU targets from the server's arch table, with their Docker platform to help find the right one. */
export function TargetPicker({
  value,
  onChange,
  ...props
}: { value: TargetId[]; onChange: (targets: TargetId[]) => void } & Omit<
  MultiSelectProps,
  'value' | 'onChange' | 'data'
>) {
  const trpc = useTRPC();
  const targets = useQuery(trpc.fleet.targets.queryOptions(undefined, { staleTime: Infinity }));
  const data = (targets.data ?? []).map((t) => {
    const platform = dockerPlatformOf(t);
    return { value: t, label: platform ? `${t} (${platform})` : t };
  });
  return (
    <MultiSelect
      searchable
      clearable
      hidePickedOptions
      maxDropdownHeight={260}
      comboboxProps={{ withinPortal: true }}
      nothingFoundMessage="No such QEMU target"
      disabled={targets.isPending}
      {...props}
      placeholder={value.length ? undefined : props.placeholder}
      data={data}
      value={value}
      onChange={(v) => onChange(v as TargetId[])}
      error={
        props.error ?? (targets.isError ? 'Could not load the target list: reload the page.' : undefined)
      }
    />
  );
}
