import {
  encodeRegisterLine,
  parseEntryFile,
  registerSpecOfEntry,
  type KernelEntry,
} from '@binfleet/arch-table';
import type { BinfmtFs } from '../adapters/binfmt-fs.ts';
import { AgentError } from '../errors.ts';

/** What binfmt_misc held at one moment: whether it was mounted, and every entry as the kernel showed it. */
export interface BinfmtSnapshot {
  readonly mounted: boolean;
  readonly entries: ReadonlyMap<string, KernelEntry>;
}

export async function takeBinfmtSnapshot(fs: BinfmtFs): Promise<BinfmtSnapshot> {
  if (!(await fs.isMounted())) return { mounted: false, entries: new Map() };
  return { mounted: true, entries: await readEntries(fs) };
}

/**
 * Puts binfmt_misc back as the snapshot had it: entries that were not there are removed, entries
 * that changed are registered again as they were, switched on or off as they were; when it was not
 * mounted, it is unmounted again (which drops every entry, as before). Goes on after a failing
 * entry and reports every one, so that one stale interpreter does not leave the rest changed.
 * Returns what it did, one line each.
 */
export async function restoreBinfmtSnapshot(fs: BinfmtFs, snapshot: BinfmtSnapshot): Promise<string[]> {
  const done: string[] = [];
  const failed: string[] = [];
  const attempt = async (what: string, action: () => Promise<void>) => {
    try {
      await action();
      done.push(what);
    } catch (error) {
      failed.push(`${what}: ${(error as Error).message}`);
    }
  };
  if (!snapshot.mounted) {
    if (await fs.isMounted()) await attempt(`unmounted ${fs.mountPoint}`, () => fs.unmount());
  } else {
    if (!(await fs.isMounted())) await attempt(`mounted ${fs.mountPoint}`, () => fs.mount());
    const current = await readEntries(fs);
    for (const [name, entry] of current) {
      const saved = snapshot.entries.get(name);
      if (!saved || !sameRegistration(saved, entry)) {
        await attempt(`removed ${name}`, () => fs.remove(name));
        current.delete(name);
      }
    }
    for (const [name, saved] of snapshot.entries) {
      const now = current.get(name);
      if (!now) {
        await attempt(`registered ${name} again`, async () => {
          await fs.register(encodeRegisterLine(registerSpecOfEntry(saved)));
          if (!saved.enabled) await fs.setEnabled(name, false);
        });
      } else if (now.enabled !== saved.enabled) {
        await attempt(`${saved.enabled ? 'enabled' : 'disabled'} ${name} again`, () =>
          fs.setEnabled(name, saved.enabled),
        );
      }
    }
  }
  if (failed.length > 0) {
    throw new AgentError(
      'INTERNAL',
      `binfmt_misc at ${fs.mountPoint} could not be put back completely (${done.length} changes made): ${failed.join('; ')}`,
    );
  }
  return done;
}

async function readEntries(fs: BinfmtFs): Promise<Map<string, KernelEntry>> {
  const entries = new Map<string, KernelEntry>();
  for (const name of await fs.list()) {
    const text = await fs.read(name);
    if (text !== undefined) entries.set(name, parseEntryFile(name, text));
  }
  return entries;
}

/** Equal apart from being switched on or off. */
function sameRegistration(a: KernelEntry, b: KernelEntry): boolean {
  return JSON.stringify({ ...a, enabled: true }) === JSON.stringify({ ...b, enabled: true });
}
