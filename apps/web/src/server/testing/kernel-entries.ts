import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEntryFile, type KernelEntry } from '@binfleet/arch-table';
import type { Sandbox } from '@binfleet/test-sandbox';

/** Entries as they come out of JSON (the database, the API), in name order: to compare with a kernel's. */
export const byName = (entries: readonly KernelEntry[]) =>
  (JSON.parse(JSON.stringify(entries)) as KernelEntry[]).sort((a, b) => a.name.localeCompare(b.name));

/** The kernel's entries in a sandbox, parsed from its entry files. */
export function kernelEntries(sandbox: Sandbox): KernelEntry[] {
  return readdirSync(sandbox.hostMountPoint)
    .filter((n) => n !== 'register' && n !== 'status')
    .sort()
    .map((n) => parseEntryFile(n, readFileSync(join(sandbox.hostMountPoint, n), 'utf8')));
}
