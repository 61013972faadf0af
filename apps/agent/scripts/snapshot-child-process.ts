/**
 * node:child_process as the startup snapshot's script sees it (scripts/build.ts resolves its imports
 * here): loaded at first use, once the process has started from the snapshot. Node 18 cannot hold the
 * module in a snapshot (building one aborts: "Unknown external reference"), Node 20 warns that it is
 * not verified there; loaded after the start it is Node's ordinary module.
 */
import type * as ChildProcess from 'node:child_process';
import { promisify } from 'node:util';

// The snapshot script's own require (CommonJS): it serves Node's built-in modules.
declare const require: (id: string) => unknown;

let loaded: typeof ChildProcess | undefined;

function childProcess(): typeof ChildProcess {
  if (loaded) return loaded;
  // The snapshot's require warns about modules Node has not vetted for snapshots, on Node 18 also
  // when they are loaded after the start, as here: that warning would end up in the CLI's stderr.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    loaded = require('node:child_process') as typeof ChildProcess;
  } finally {
    process.emitWarning = emitWarning;
  }
  return loaded;
}

type AnyFunction = (...args: unknown[]) => unknown;

export const spawn = ((...args: unknown[]) =>
  (childProcess().spawn as AnyFunction)(...args)) as typeof ChildProcess.spawn;

export const execFile = Object.assign(
  (...args: unknown[]) => (childProcess().execFile as AnyFunction)(...args),
  // promisify(execFile) resolves with { stdout, stderr }, as Node's own execFile does.
  {
    [promisify.custom]: (...args: unknown[]) => (promisify(childProcess().execFile) as AnyFunction)(...args),
  },
) as unknown as typeof ChildProcess.execFile;
