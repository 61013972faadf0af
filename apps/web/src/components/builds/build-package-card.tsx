'use client';
import { Card, Stack, Text } from '@mantine/core';
import type { BuildDetail } from '../trpc/types.ts';

/** What the build was given: the package, its facts once read, and the options. */
export function PackageCard({ build }: { build: BuildDetail }) {
  const rows: [string, string][] = [
    // A deleted upload leaves neither its link nor a path; the facts below stay on the build.
    build.packageId || !build.packagePath
      ? ['Uploaded package', build.uploadedFilename ?? '(upload deleted)']
      : ['Package file', build.packagePath],
    ['Version', build.packageVersion || '…'],
    ['Architecture', build.packageArch || '…'],
    ['QEMU', build.qemuVersion || '…'],
    ['sha256', build.packageSha256 || '…'],
  ];
  const options = build.options;
  return (
    <Card>
      <Text fw={600} mb="sm">
        Input
      </Text>
      <Stack gap={6}>
        {rows.map(([label, value]) => (
          <div key={label}>
            <Text size="xs" c="dimmed">
              {label}
            </Text>
            <Text
              size="sm"
              ff={label === 'sha256' || label === 'Package file' ? 'monospace' : undefined}
              style={{ wordBreak: 'break-all' }}
            >
              {value}
            </Text>
          </div>
        ))}
        <Text size="xs" c="dimmed">
          {options.targets?.length
            ? `Emulators: ${options.targets.join(', ')}`
            : 'Every emulator in the package'}
          {options.testImage && ` · test image ${options.testImage}`}
          {options.skipChecks && ' · checks skipped'}
        </Text>
      </Stack>
    </Card>
  );
}
