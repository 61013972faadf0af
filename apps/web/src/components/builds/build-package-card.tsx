'use client';
import { Badge, Card, Group, Stack, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import type { BuildDetail } from '../trpc/types.ts';

/** What the build was given: its packages (one per host architecture), their facts once read, the options. */
export function PackageCard({ build }: { build: BuildDetail }) {
  const facts = build.packageFacts;
  const options = build.options;
  return (
    <Card>
      <Text fw={600} mb="sm">
        Input
      </Text>
      <Stack gap={6}>
        <div>
          <Text size="xs" c="dimmed">
            Host architectures
          </Text>
          <Group gap={4} data-testid="build-host-archs">
            {build.hostArchs.length ? (
              build.hostArchs.map((arch) => (
                <Badge key={arch} variant="light" color="indigo" ff="monospace">
                  {arch}
                </Badge>
              ))
            ) : (
              <Text size="sm">…</Text>
            )}
          </Group>
        </div>
        <Field label={build.packages.length === 1 ? 'Package' : `Packages (${build.packages.length})`}>
          {build.packages.map((p, i) => (
            <Text key={i} size="sm" ff={p.path ? 'monospace' : undefined} style={{ wordBreak: 'break-all' }}>
              {/* A deleted upload leaves neither its link nor a path; the facts below stay on the build. */}
              {p.path || `upload ${p.uploadedFilename ?? '(deleted)'}`}
            </Text>
          ))}
        </Field>
        {facts.length ? (
          facts.map((f) => (
            <Field key={f.sha256} label={`${f.architecture}: ${f.name} ${f.version}`}>
              <Text size="sm">QEMU {f.qemuVersion}</Text>
              <Text size="xs" ff="monospace" c="dimmed" style={{ wordBreak: 'break-all' }}>
                sha256 {f.sha256}
              </Text>
            </Field>
          ))
        ) : (
          <Field label="Version, QEMU, sha256">
            <Text size="sm">… once the builder read the packages</Text>
          </Field>
        )}
        <Text size="xs" c="dimmed">
          {options.targets?.length
            ? `Emulators: ${options.targets.join(', ')}`
            : 'Every emulator in the package'}
          {options.busyboxes?.length ? ` · busyboxes ${options.busyboxes.join(', ')}` : ''}
          {options.testImage && ` · test image ${options.testImage}`}
          {options.skipChecks && ' · checks skipped'}
        </Text>
      </Stack>
    </Card>
  );
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      {children}
    </div>
  );
}
