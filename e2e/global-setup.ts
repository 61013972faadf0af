import { expectMachineBinfmtAsBefore, machineBinfmtState } from '@binfleet/test-sandbox';
import { startStack } from './support/stack.ts';

/**
 * Starts the real stack once for the run; what it returns is the global teardown, which also checks
 * that the run left the machine's binfmt_misc as it found it (the builder's checks change it through
 * dockerd and must put it back; later runs on this machine inherit it).
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const before = machineBinfmtState();
  const stop = await startStack();
  return async () => {
    await stop();
    expectMachineBinfmtAsBefore(before, 'The e2e run');
  };
}
