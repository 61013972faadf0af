import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * The machine's own binfmt_misc: what dockerd's containers use (tests that need a private one use a
 * sandbox). It outlives every test run on this machine, CI's included: a test that changes it must
 * put it back, and a test that needs an entry must not trust whatever a machine happens to hold.
 */
export const MACHINE_BINFMT = '/proc/sys/fs/binfmt_misc';

export interface MachineBinfmtState {
  readonly mounted: boolean;
  /** binfmt_misc as a whole switched on or off (its `status` file). */
  readonly status?: string;
  /** Every entry's file as the kernel shows it, by name. */
  readonly entries: Readonly<Record<string, string>>;
}

export function machineBinfmtState(): MachineBinfmtState {
  if (!existsSync(`${MACHINE_BINFMT}/register`)) return { mounted: false, entries: {} };
  const names = readdirSync(MACHINE_BINFMT).filter((n) => n !== 'register' && n !== 'status');
  const entries: Record<string, string> = {};
  for (const name of names) {
    try {
      entries[name] = readFileSync(`${MACHINE_BINFMT}/${name}`, 'utf8');
    } catch {
      // removed while we listed
    }
  }
  let status: string | undefined;
  try {
    status = readFileSync(`${MACHINE_BINFMT}/status`, 'utf8').trim();
  } catch {
    // unmounted meanwhile
  }
  return { mounted: true, ...(status === undefined ? {} : { status }), entries };
}

/** What differs between two states, one phrase each ('' when they are the same). */
export function machineBinfmtChanges(before: MachineBinfmtState, after: MachineBinfmtState): string {
  if (before.mounted !== after.mounted)
    return after.mounted ? 'mounted (it was not)' : 'unmounted (it was mounted)';
  const changes: string[] = [];
  if (before.status !== after.status) changes.push(`status ${before.status} -> ${after.status}`);
  for (const name of new Set([...Object.keys(before.entries), ...Object.keys(after.entries)])) {
    const was = before.entries[name];
    const is = after.entries[name];
    if (was === is) continue;
    if (was === undefined) changes.push(`${name} added`);
    else if (is === undefined) changes.push(`${name} removed`);
    else changes.push(`${name} changed (${oneLine(was)} -> ${oneLine(is)})`);
  }
  return changes.join('; ');
}

const oneLine = (text: string) =>
  text
    .split('\n')
    .filter((l) => /^(enabled|disabled|interpreter |flags: )/.test(l))
    .join(', ');

/**
 * Throws, naming what changed, when the machine's binfmt_misc is no longer as `before`: the check
 * after every integration test file and after the e2e run (`who` left it so; `when`, if known, says
 * during which of its tests it changed).
 */
export function expectMachineBinfmtAsBefore(before: MachineBinfmtState, who: string, when?: string): void {
  const changes = machineBinfmtChanges(before, machineBinfmtState());
  if (changes)
    throw new Error(
      `${who} left the machine's binfmt_misc (${MACHINE_BINFMT}) changed: ${changes}${when ? `; ${when}` : ''}. dockerd's ` +
        'containers, every later test and the next run on this machine use it: put it back as it was.',
    );
}

/**
 * Register lines, from arch-table (the only source of them; this package cannot depend on it, whose
 * own tests depend on this package): the caller passes them in.
 */
export interface MachineRegisterLines {
  /** The line that registers again the entry the kernel's file `text` shows under `name`. */
  readonly ofEntryFile: (name: string, text: string) => string;
}

/**
 * Takes the machine's entry `name` out for a while, if there is one. putBack() removes whatever holds
 * the name by then and registers the entry again exactly as it was, switched off if it was; with none
 * before, the name is left free.
 */
export function setAsideMachineEntry(name: string, lines: MachineRegisterLines): { putBack(): void } {
  const file = `${MACHINE_BINFMT}/${name}`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  const line = text === undefined ? undefined : lines.ofEntryFile(name, text);
  if (line !== undefined) writeFileSync(file, '-1');
  return {
    putBack() {
      if (existsSync(file)) writeFileSync(file, '-1');
      if (line === undefined) return;
      writeFileSync(`${MACHINE_BINFMT}/register`, line);
      if (!/^enabled$/m.test(text!)) writeFileSync(file, '0');
    },
  };
}

/** Whether the machine's entry `name` is there, enabled, with F: a container can use it as it is. */
export function machineEntryUsable(name: string): boolean {
  const file = `${MACHINE_BINFMT}/${name}`;
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  return /^enabled$/m.test(text) && /^flags: .*F/m.test(text);
}

/**
 * qemu-aarch64 in the machine's binfmt_misc with F (the interpreter opened now, so a linux/arm64
 * container runs without qemu inside it), registered with `lines.aarch64WithF`, for a test's
 * containers. An entry already there that is enabled and has F is used as it is; one without F (say a
 * register image's `--reset` left it) or switched off is set aside and put back by restore(), which
 * also removes what this added and unmounts binfmt_misc if it was not mounted.
 */
export function machineAarch64WithF(lines: MachineRegisterLines & { readonly aarch64WithF: string }): {
  restore(): void;
} {
  const name = 'qemu-aarch64';
  const mounted = existsSync(`${MACHINE_BINFMT}/register`);
  if (!mounted) execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', MACHINE_BINFMT]);
  const unmount = () => (mounted ? undefined : execFileSync('umount', [MACHINE_BINFMT]));
  if (machineEntryUsable(name)) {
    // Said, because a test file must leave the machine as it found it: an entry found here that the
    // file itself did not find at its start points at the test before this one.
    console.warn(`machineAarch64WithF: the machine already has ${name} with F; used as it is, left as found`);
    return { restore: unmount };
  }
  const aside = setAsideMachineEntry(name, lines);
  try {
    writeFileSync(`${MACHINE_BINFMT}/register`, lines.aarch64WithF);
  } catch (error) {
    // F opens the interpreter now: a machine without it is put back as it was.
    aside.putBack();
    unmount();
    throw error;
  }
  return {
    restore() {
      aside.putBack();
      unmount();
    },
  };
}
