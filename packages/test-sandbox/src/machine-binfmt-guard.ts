import { afterAll, beforeAll } from 'vitest';
import {
  expectMachineBinfmtAsBefore,
  machineBinfmtState,
  type MachineBinfmtState,
} from './machine-binfmt.ts';

// Every integration test file (vitest.config.ts's setupFiles): the machine's binfmt_misc as the file
// found it is what it leaves. Later files, e2e and the next CI run on this machine inherit it; a
// file that leaves it changed fails here, naming what it changed, instead of a later test failing
// for no reason of its own.
let before: MachineBinfmtState;

beforeAll(() => {
  before = machineBinfmtState();
});

afterAll(() => expectMachineBinfmtAsBefore(before, 'This test file'));
