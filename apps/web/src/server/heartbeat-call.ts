import {
  callTRPCProcedure,
  getTRPCErrorFromUnknown,
  getTRPCErrorShape,
  transformTRPCResponse,
} from '@trpc/server';
import { getHTTPStatusCode } from '@trpc/server/http';
import { logServerError } from './database-errors.ts';
import { TRPC_ENDPOINT } from './http-gateway.ts';
import { appRouter } from './routers/index.ts';
import type { HeaderSource } from './security/request-origin.ts';
import type { ControlPlane } from './services/control-plane.ts';
import { createContext, type Context } from './trpc.ts';

const PROCEDURE = 'agentApi.heartbeat';

/** Where agents send their heartbeats: one tRPC mutation, never batched (ControlPlaneClient). */
export const HEARTBEAT_PATH = `${TRPC_ENDPOINT}/${PROCEDURE}`;

/** tRPC's rule for a JSON call: the media type of Content-Type, in any case, without parameters. */
export function isJsonCall(contentType: string | null | undefined): boolean {
  return contentType?.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

export interface HeartbeatHttpAnswer {
  readonly status: number;
  /** The answer's JSON, as tRPC writes it. */
  readonly body: string;
  /** Headers the procedure set (none today; a cookie would come here). */
  readonly headers: Headers;
}

/**
 * A heartbeat's answer straight from its body, for the Node servers (node-http-gateway.ts): the
 * same procedure through tRPC's own pieces (the router's caller with its middlewares and input
 * parser, tRPC's error shape through our formatter, its status and wire form), without its fetch
 * adapter. Every agent heartbeats every interval, and turning each into a fetch Request and its
 * answer into a Response (web streams, abort signals) cost about a quarter of the server's CPU per
 * heartbeat (docs/operations.md). undefined when the body is not JSON: the fetch path then answers
 * it, with tRPC's own words for that.
 */
export async function answerHeartbeat(
  cp: ControlPlane,
  headers: HeaderSource,
  body: string,
): Promise<HeartbeatHttpAnswer | undefined> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const config = appRouter._def._config;
  const input: unknown = config.transformer.input.deserialize(json);
  const resHeaders = new Headers();
  let ctx: Context | undefined;
  let response;
  try {
    ctx = await createContext(cp, headers, resHeaders);
    const data: unknown = await callTRPCProcedure({
      router: appRouter,
      path: PROCEDURE,
      getRawInput: () => Promise.resolve(input),
      ctx,
      type: 'mutation',
      signal: undefined,
      batchIndex: 0,
    });
    response = { result: { data } };
  } catch (cause) {
    const error = getTRPCErrorFromUnknown(cause);
    logServerError({ error, path: PROCEDURE });
    response = { error: getTRPCErrorShape({ config, ctx, error, input, path: PROCEDURE, type: 'mutation' }) };
  }
  return {
    status: getHTTPStatusCode(response),
    body: JSON.stringify(transformTRPCResponse(config, response)),
    headers: resHeaders,
  };
}
