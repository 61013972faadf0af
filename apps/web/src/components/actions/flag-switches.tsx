'use client';
import { Alert, Stack, Switch } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import type { JobForm } from './job-form.ts';

/** The registration flags a job sets, each with what it does; C warns what it gives away. */
export function FlagSwitches({ form, set }: { form: JobForm; set: (patch: Partial<JobForm>) => void }) {
  return (
    <Stack gap="sm">
      <Switch
        label="Persistent (F)"
        description="The kernel opens the emulator now and keeps it: containers and chroots run foreign binaries without a copy of QEMU inside."
        checked={form.persistent}
        onChange={(e) => set({ persistent: e.currentTarget.checked })}
      />
      <Switch
        label="Credential (C, implies O)"
        description="Runs foreign binaries with their own setuid/setgid credentials: needed for sudo inside emulated containers."
        color="red"
        checked={form.credential}
        onChange={(e) => set({ credential: e.currentTarget.checked })}
      />
      {form.credential && (
        <Alert
          color="red"
          variant="light"
          icon={<IconAlertTriangle size={18} />}
          title="Setuid foreign binaries gain real privileges"
          py="xs"
        >
          With C, a setuid-root binary of another architecture runs as root on this host, through the
          emulator. Only enable it where every foreign image is trusted.
        </Alert>
      )}
      <Switch
        label="Preserve argv[0] (P)"
        description="Passes the program's own argv[0] to it (multi-call binaries such as busybox need it)."
        checked={form.preserveArgv0}
        onChange={(e) => set({ preserveArgv0: e.currentTarget.checked })}
      />
    </Stack>
  );
}
