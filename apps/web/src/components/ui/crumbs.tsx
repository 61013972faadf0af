'use client';
import { Anchor, Breadcrumbs, Text } from '@mantine/core';
import Link from 'next/link';

/** Above a detail page: the list it belongs to, then the page itself (long names cut, whole on the page). */
export function Crumbs({ parent, label }: { parent: { href: string; label: string }; label: string }) {
  return (
    <Breadcrumbs mb="xs">
      <Anchor component={Link} href={parent.href} size="sm">
        {parent.label}
      </Anchor>
      <Text size="sm" c="dimmed" truncate maw={480}>
        {label}
      </Text>
    </Breadcrumbs>
  );
}
