'use client';
import { Group, Select, TextInput } from '@mantine/core';

/** What the catalogue narrows its tags to: one version, and architectures on either or one side. */
export interface TagFilter {
  version: string | null;
  arch: string;
  from: string;
  to: string;
}

export const NO_FILTER: TagFilter = { version: null, arch: '', from: '', to: '' };

export function CatalogueFilters({
  filter,
  onChange,
  versionOptions,
}: {
  filter: TagFilter;
  onChange: (patch: Partial<TagFilter>) => void;
  versionOptions: { value: string; label: string }[];
}) {
  return (
    <Group align="flex-end" gap="sm" wrap="wrap" mt="md">
      <Select
        label="Version"
        placeholder="Newest versions"
        data={versionOptions}
        value={filter.version}
        onChange={(version) => onChange({ version })}
        clearable
        searchable
        w={240}
        data-testid="catalogue-version"
      />
      <TextInput
        label="Architecture"
        description="either side; any alias"
        placeholder="arm64, armhf, s390x…"
        value={filter.arch}
        onChange={(e) => onChange({ arch: e.currentTarget.value })}
        w={170}
        data-testid="catalogue-arch"
      />
      <TextInput
        label="From"
        placeholder="x86_64, amd64…"
        value={filter.from}
        onChange={(e) => onChange({ from: e.currentTarget.value })}
        w={130}
      />
      <TextInput
        label="To"
        placeholder="aarch64, arm64v8…"
        value={filter.to}
        onChange={(e) => onChange({ to: e.currentTarget.value })}
        w={130}
      />
    </Group>
  );
}
