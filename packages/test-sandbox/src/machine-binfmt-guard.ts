import { afterAll, beforeAll } from 'vitest';
import {
  machineBinfmtChanges,
  machineBinfmtState,
  sameMachineBinfmt,
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

afterAll(() => {
  const after = machineBinfmtState();
  if (!sameMachineBinfmt(before, after)) {
    throw new Error(
      `This test file left the machine's binfmt_misc (/proc/sys/fs/binfmt_misc) changed: ${machineBinfmtChanges(before, after)}. ` +
        "dockerd's containers and every later test use it: put it back as it was in afterAll.",
    );
  }
});
