/**
 * node:crypto as the light commands' script sees it (scripts/bundling.ts resolves its imports here):
 * loaded at first use. Those commands need it only to name a background run (node-host-os.ts), and
 * loading it costs ~3 ms of every run from the bundle, where nothing is kept in a snapshot.
 */
import type * as Crypto from 'node:crypto';
import { builtinAtFirstUse, type AnyFunction } from './snapshot-builtin.ts';

const crypto = builtinAtFirstUse<typeof Crypto>('node:crypto');

export const randomBytes = ((...args: unknown[]) =>
  (crypto().randomBytes as AnyFunction)(...args)) as typeof Crypto.randomBytes;

// Imported by modules of @binfleet/deb that the script names but does not run.
export const createHash = ((...args: unknown[]) =>
  (crypto().createHash as AnyFunction)(...args)) as typeof Crypto.createHash;

export const randomUUID = ((...args: unknown[]) =>
  (crypto().randomUUID as AnyFunction)(...args)) as typeof Crypto.randomUUID;
