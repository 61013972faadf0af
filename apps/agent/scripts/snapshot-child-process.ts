/**
 * node:child_process as the startup snapshot's script sees it (scripts/bundling.ts resolves its imports
 * here): loaded at first use, once the process has started from the snapshot. Node 18 cannot hold the
 * module in a snapshot (building one aborts: "Unknown external reference"), Node 20 warns that it is
 * not verified there; loaded after the start it is Node's ordinary module.
 */
import type * as ChildProcess from 'node:child_process';
import { promisify } from 'node:util';
import { builtinAtFirstUse, type AnyFunction } from './snapshot-builtin.ts';

const childProcess = builtinAtFirstUse<typeof ChildProcess>('node:child_process');

export const spawn = ((...args: unknown[]) =>
  (childProcess().spawn as AnyFunction)(...args)) as typeof ChildProcess.spawn;

export const execFile = Object.assign(
  (...args: unknown[]) => (childProcess().execFile as AnyFunction)(...args),
  // promisify(execFile) resolves with { stdout, stderr }, as Node's own execFile does.
  {
    [promisify.custom]: (...args: unknown[]) => (promisify(childProcess().execFile) as AnyFunction)(...args),
  },
) as unknown as typeof ChildProcess.execFile;
