/**
 * node:http as the agent's snapshot script sees it (scripts/build.ts resolves its imports here):
 * loaded at first use, once the process has started from the snapshot. Node refuses to build a
 * snapshot that holds it ("not yet fully verified ... in user snapshot builder scripts"); loaded after
 * the start it is Node's ordinary module. Only what the agent uses: a build that imports more fails.
 */
import type * as Http from 'node:http';

// The snapshot script's own require (CommonJS): it serves Node's built-in modules.
declare const require: (id: string) => unknown;

let loaded: typeof Http | undefined;
const http = (): typeof Http => (loaded ??= require('node:http') as typeof Http);

type AnyFunction = (...args: unknown[]) => unknown;

export const request = ((...args: unknown[]) =>
  (http().request as AnyFunction)(...args)) as typeof Http.request;
export const createServer = ((...args: unknown[]) =>
  (http().createServer as AnyFunction)(...args)) as typeof Http.createServer;

export default { request, createServer };
