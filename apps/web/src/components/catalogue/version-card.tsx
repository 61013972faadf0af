'use client';
import { Badge, Card, Group, Text, Tooltip } from '@mantine/core';
import Link from 'next/link';
import type { RouterOutputs } from '../trpc/types.ts';
import { CopyLine } from '../ui/copy-line.tsx';
import { Ago } from '../ui/time.tsx';
import { MakeLatestButton } from './make-latest-button.tsx';
import { TagTable } from './tag-table.tsx';

type CatalogueVersion = RouterOutputs['catalogue']['browse']['versions'][number];

/** One QEMU version: when it was built, by a binfleet build or not, its register command and its tags. */
export function VersionCard({ version, reference }: { version: CatalogueVersion; reference: string }) {
  const build = (version.tags.find((t) => t.kind === 'version') ?? version.tags.find((t) => t.build))?.build;
  const latest = version.tags.some((t) => t.kind === 'latest');
  const run = version.tags.find((t) => t.kind === 'version')?.run ?? version.tags[0]!.run;
  return (
    <Card padding={0} data-testid={`version-${version.version}`}>
      <Group p="md" pb="xs" justify="space-between" wrap="wrap" gap="sm">
        <Group gap="sm">
          <Text fw={700} ff="monospace">
            {version.version}
          </Text>
          {version.created && <Ago date={version.created} size="sm" c="dimmed" prefix="built" />}
          {build && (
            <Tooltip
              label={`${build.packageName} ${build.packageVersion}, sha256 ${build.packageSha256}`}
              multiline
              maw={420}
            >
              <Badge
                variant="light"
                color="indigo"
                component={Link}
                href={`/builds/${build.id}`}
                style={{ cursor: 'pointer' }}
              >
                QEMU {build.qemuVersion} · our build
              </Badge>
            </Tooltip>
          )}
          {latest && (
            <Badge variant="outline" color="gray">
              latest
            </Badge>
          )}
        </Group>
        <Group gap="xs">
          {build && !latest && (
            <MakeLatestButton buildId={build.id} version={version.version} reference={reference} />
          )}
          <CopyLine text={run} label="Copy the register command" />
        </Group>
      </Group>
      <TagTable tags={version.tags} />
    </Card>
  );
}
