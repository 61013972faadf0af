import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import type { AgentRouter } from './router.ts';

export type AgentClient = TRPCClient<AgentRouter>;

/**
 * A typed client for one agent: `url` is the agent's base URL (https://host:7475), `token` its API
 * token. One HTTP request per call (no batching): calls to an agent are few, and a failed one then
 * fails alone.
 */
export function createAgentClient(url: string, token: string): AgentClient {
  return createTRPCClient<AgentRouter>({
    links: [
      httpLink({
        url: new URL('trpc', url.endsWith('/') ? url : `${url}/`).href,
        headers: { authorization: `Bearer ${token}` },
      }),
    ],
  });
}
