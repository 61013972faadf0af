import type { BinfmtFs } from './binfmt-fs.ts';
import type { ProcessResult } from './host-os.ts';

/**
 * A throwaway user + mount namespace with a binfmt_misc of its own (Linux >= 6.7): what a build
 * registers there to run a foreign host's images under emulation never reaches the machine's, and
 * goes with the namespace.
 */
export interface EmulationSandbox {
  /** The sandbox's binfmt_misc, read and written from outside it. */
  readonly binfmt: BinfmtFs;
  /** Runs a program inside (no shell), killing it after `timeoutMs`; never rejects. */
  run(path: string, args: readonly string[], timeoutMs: number): Promise<ProcessResult>;
  /** Ends every process of the namespace; its binfmt_misc and mounts go with it. */
  stop(): Promise<void>;
}

export interface EmulationSandboxes {
  start(): Promise<EmulationSandbox>;
}
