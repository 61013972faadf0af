/**
 * node:http as the agent's snapshot script sees it (scripts/bundling.ts resolves its imports here):
 * loaded at first use, once the process has started from the snapshot. Node refuses to build a
 * snapshot that holds it ("not yet fully verified ... in user snapshot builder scripts"); loaded after
 * the start it is Node's ordinary module. Only what the agent uses: a build that imports more fails.
 */
import type * as Http from 'node:http';
import { builtinAtFirstUse, type AnyFunction } from './snapshot-builtin.ts';

const http = builtinAtFirstUse<typeof Http>('node:http');

export const request = ((...args: unknown[]) =>
  (http().request as AnyFunction)(...args)) as typeof Http.request;
export const createServer = ((...args: unknown[]) =>
  (http().createServer as AnyFunction)(...args)) as typeof Http.createServer;

export default { request, createServer };
