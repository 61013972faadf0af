import { startStack } from './support/stack.ts';

/** Starts the real stack once for the run; what it returns is the global teardown. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  return startStack();
}
