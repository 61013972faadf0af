import { afterAll, afterEach, beforeAll } from 'vitest';
import {
  expectMachineBinfmtAsBefore,
  machineBinfmtChanges,
  machineBinfmtState,
  type MachineBinfmtState,
} from './machine-binfmt.ts';

// Every integration test file (vitest.config.ts's setupFiles): the machine's binfmt_misc as the file
// found it is what it leaves. Later files, e2e and the next CI run on this machine inherit it; a
// file that leaves it changed fails here, naming what it changed, instead of a later test failing
// for no reason of its own.
let before: MachineBinfmtState;
/** The state after the last test, and where it changed (a file may change it on purpose in a beforeAll and put it back in its afterAll: said, not failed, here). */
let last: MachineBinfmtState;
let changedAt: string[] = [];
let first = true;

beforeAll(() => {
  before = last = machineBinfmtState();
  changedAt = [];
  first = true;
});

afterEach((context) => {
  const now = machineBinfmtState();
  const changes = machineBinfmtChanges(last, now);
  if (changes)
    changedAt.push(
      `${first ? "between the file's start and the end of" : 'during'} the test "${context.task.name}" (${changes})`,
    );
  last = now;
  first = false;
});

afterAll(() =>
  expectMachineBinfmtAsBefore(
    before,
    'This test file',
    changedAt.length > 0 ? `it changed ${changedAt.slice(0, 3).join('; ')}` : undefined,
  ),
);
