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
/** The first test after which the machine differed from `before`, and how (a file may change it in a beforeAll and put it back in its afterAll: said, not failed, here). */
let firstChanged: string | undefined;

beforeAll(() => {
  before = machineBinfmtState();
  firstChanged = undefined;
});

afterEach((context) => {
  if (firstChanged) return;
  const changes = machineBinfmtChanges(before, machineBinfmtState());
  if (changes) firstChanged = `first seen after the test "${context.task.name}" (${changes})`;
});

afterAll(() => expectMachineBinfmtAsBefore(before, 'This test file', firstChanged));
