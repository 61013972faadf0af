import { readFileSync, writeFileSync } from 'node:fs';
import { startSandbox, type Sandbox } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeRegisterLine,
  expectedEntry,
  parseEntryFile,
  targetRegisterSpec,
  TARGET_IDS,
} from './index.ts';

// The real kernel is the reference for our encoding: every line we produce is accepted, and the
// entry the kernel prints back parses into exactly what we registered.
describe('round trip through the kernel (private binfmt_misc)', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox?.stop());

  it.each([
    { flags: {}, label: 'no flags' },
    { flags: { credential: true, preserveArgv0: true }, label: 'P O C' },
  ])('registers all 34 targets with $label and reads them back identical', ({ flags }) => {
    const mount = sandbox.hostMountPoint;
    for (const id of TARGET_IDS) {
      // Without F the kernel does not open the interpreter, so the test process may write it.
      const spec = targetRegisterSpec(id, { interpreterDir: '/usr/bin', suffix: '-static', ...flags });
      writeFileSync(`${mount}/register`, encodeRegisterLine(spec));
      const back = parseEntryFile(spec.name, readFileSync(`${mount}/${spec.name}`, 'utf8'));
      expect(back, id).toEqual(expectedEntry(spec));
    }
    writeFileSync(`${mount}/status`, '-1');
    expect(readFileSync(`${mount}/status`, 'utf8').trim()).toBe('enabled');
  });
});
