'use client';
import { Badge, Card, Group, Table, Text, Tooltip, UnstyledButton, VisuallyHidden } from '@mantine/core';
import { useClipboard } from '@mantine/hooks';
import { TARGET_IDS } from '@binfleet/arch-table';
import type { RouterOutputs } from '../trpc/types.ts';
import { shortDigest } from '../ui/copy-line.tsx';

type CatalogueVersion = RouterOutputs['catalogue']['browse']['versions'][number];
type CatalogueTag = CatalogueVersion['tags'][number];

/** One cell: the image a version has for a row, with the other tags that name the same digest. */
interface Cell {
  readonly tag: CatalogueTag;
  readonly aliases: readonly string[];
}

interface Row {
  readonly key: string;
  readonly label: string;
  readonly note: string;
  readonly cells: ReadonlyMap<string, Cell>;
}

/**
 * Which tag a row shows in a version's column: the versioned name (`$version`, `register`,
 * `$to-$version`, else a `$from-$to-$version` pair when no `$to` index exists for it); every other
 * tag naming the same digest folds into it as an alias.
 */
function rowsOf(versions: readonly CatalogueVersion[]): Row[] {
  const pick = (version: CatalogueVersion, test: (t: CatalogueTag) => boolean): Cell | undefined => {
    // The `$to-$version` index over a host's pair image: it is what every host pulls.
    const matching = version.tags.filter(test);
    const tag = matching.find((t) => t.kind === 'target-version') ?? matching[0];
    if (!tag) return undefined;
    const aliases = version.tags.filter((t) => t !== tag && t.digest === tag.digest).map((t) => t.tag);
    return { tag, aliases };
  };
  const row = (key: string, label: string, note: string, test: (t: CatalogueTag) => boolean): Row => ({
    key,
    label,
    note,
    cells: new Map(
      versions.flatMap((v) => {
        const cell = pick(v, test);
        return cell ? [[v.version, cell] as const] : [];
      }),
    ),
  });
  const targets = TARGET_IDS.filter((to) => versions.some((v) => v.tags.some((t) => t.to === to)));
  return [
    row('all', 'all emulators', 'register + every emulator', (t) => t.kind === 'version'),
    row('register', 'register', 'entrypoint only', (t) => t.kind === 'register'),
    ...targets.map((to) =>
      row(
        to,
        to,
        'one emulator',
        (t) => t.to === to && (t.kind === 'target-version' || t.kind === 'pair-version'),
      ),
    ),
  ].filter((r) => r.cells.size > 0);
}

/**
 * The versions side by side: a row per image (the full and register images, then one per emulator
 * target), a column per version, each cell the image's digest with its platforms. A click copies the
 * pull line pinned by digest; the list below stays the detail view.
 */
export function CatalogueGrid({ versions }: { versions: readonly CatalogueVersion[] }) {
  const rows = rowsOf(versions);
  if (rows.length === 0) return null;
  return (
    <Card padding={0} data-testid="catalogue-grid">
      <Group p="md" pb="xs" gap="sm">
        <Text fw={600}>Versions × architectures</Text>
        <Text size="sm" c="dimmed">
          click a digest to copy its pinned pull line
        </Text>
      </Group>
      <Table.ScrollContainer minWidth={Math.max(360, 150 + versions.length * 190)}>
        <Table verticalSpacing={4} withColumnBorders stickyHeader>
          <Table.Thead>
            <Table.Tr>
              <Table.Th
                style={{ position: 'sticky', left: 0, background: 'var(--mantine-color-body)', zIndex: 1 }}
              >
                Image
              </Table.Th>
              {versions.map((v) => (
                <Table.Th key={v.version}>
                  <Text size="sm" ff="monospace" fw={700}>
                    {v.version}
                  </Text>
                </Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={r.key} data-testid={`grid-row-${r.key}`}>
                <Table.Td
                  style={{ position: 'sticky', left: 0, background: 'var(--mantine-color-body)', zIndex: 1 }}
                >
                  <Text size="sm" ff="monospace" fw={600}>
                    {r.label}
                  </Text>
                  <Text size="xs" c="dimmed">
                    {r.note}
                  </Text>
                </Table.Td>
                {versions.map((v) => {
                  const cell = r.cells.get(v.version);
                  return (
                    <Table.Td key={v.version}>
                      {cell ? <DigestChip cell={cell} /> : <Text c="dimmed">—</Text>}
                    </Table.Td>
                  );
                })}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Card>
  );
}

function DigestChip({ cell }: { cell: Cell }) {
  const clipboard = useClipboard({ timeout: 1500 });
  const { tag } = cell;
  const platforms = tag.platform ? tag.platform.split(',') : [];
  const line = tag.pinned ?? tag.pull;
  if (!line) return null;
  return (
    <Tooltip
      label={
        clipboard.copied
          ? 'Copied'
          : `${line}${cell.aliases.length ? `\nalso tagged ${cell.aliases.join(', ')}` : ''}`
      }
      multiline
      maw={520}
      withArrow
      styles={{ tooltip: { overflowWrap: 'anywhere', whiteSpace: 'pre-line' } }}
    >
      <UnstyledButton onClick={() => clipboard.copy(line)} data-testid={`grid-cell-${tag.tag}`}>
        <Text size="xs" ff="monospace" fw={600} c={clipboard.copied ? 'teal' : undefined}>
          {shortDigest(tag.digest).replace('sha256:', '')}
        </Text>
        <Group gap={2} mt={2}>
          {(platforms.length ? platforms : ['?']).map((p) => (
            <Badge
              key={p}
              size="xs"
              variant="light"
              color={platforms.length > 1 ? 'indigo' : 'gray'}
              radius="sm"
            >
              {p.replace(/^linux\//, '')}
            </Badge>
          ))}
        </Group>
        <Text size="xs" c="dimmed" ff="monospace">
          :{tag.tag}
          {cell.aliases.length > 0 && ` +${cell.aliases.length}`}
        </Text>
        {/* The name is what the cell shows, then what a click does. */}
        <VisuallyHidden>{`Copy ${line}`}</VisuallyHidden>
      </UnstyledButton>
    </Tooltip>
  );
}
